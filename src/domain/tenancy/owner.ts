/**
 * Who owns a rate plan or a tax, and whose charge it is: the operator (the wholesale side), or one
 * reseller (the retail side). Stored as reseller_id, null for the operator.
 */
export type Owner = { kind: 'operator' } | { kind: 'reseller'; resellerId: number };

export const OPERATOR: Owner = Object.freeze({ kind: 'operator' });

/** The owner as one number, coalesce(reseller_id, 0) in SQL: 0 is the operator. */
export const ownerKey = (owner: Owner): number => (owner.kind === 'reseller' ? owner.resellerId : 0);
