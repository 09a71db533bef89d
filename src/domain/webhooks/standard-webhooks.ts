import crypto from 'node:crypto';

/**
 * Webhook messages as the Standard Webhooks convention has them (https://www.standardwebhooks.com,
 * spec/standard-webhooks.md): headers `webhook-id` (the message's id, the same on every attempt,
 * so a receiver can drop a repeat), `webhook-timestamp` (unix seconds of this attempt) and
 * `webhook-signature` (`v1,` + base64 HMAC-SHA256 of `<id>.<timestamp>.<body>`, keyed with the
 * base64-decoded part of the `whsec_…` secret). The convention's own libraries (npm
 * `standardwebhooks`, and the same in other languages) verify it.
 */

export const SECRET_PREFIX = 'whsec_';

/** A new endpoint secret: `whsec_` and the base64 of 32 random bytes (the convention asks 24 to 64). */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + crypto.randomBytes(32).toString('base64');
}

/** The key bytes of a `whsec_…` secret. */
function keyOf(secret: string): Buffer {
  return Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
}

/** The `webhook-signature` value of a message: `v1,<base64 HMAC-SHA256(key, "id.timestamp.body")>`. */
export function signWebhook(secret: string, id: string, timestampSeconds: number, body: string): string {
  return `v1,${crypto.createHmac('sha256', keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`).digest('base64')}`;
}

/**
 * The three headers of one attempt of a message. Several secrets (a rotation's overlap: the new
 * and the previous) give one signature each, space-separated, as the convention allows: a
 * receiver that knows either accepts the message.
 */
export function webhookHeaders(secrets: string | string[], id: string, timestampSeconds: number, body: string): Record<string, string> {
  const all = Array.isArray(secrets) ? secrets : [secrets];
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': all.map((s) => signWebhook(s, id, timestampSeconds, body)).join(' '),
  };
}

/** The body of a message: `{type, timestamp, data}` as the convention's payload structure has it. */
export function webhookBody(type: string, timestamp: Date, data: Record<string, unknown>): string {
  return JSON.stringify({ type, timestamp: timestamp.toISOString(), data });
}

/** The message id of an outbox event (its place in the outbox, `xid.position`): stable, unique. */
export function messageIdOf(cursor: string): string {
  return `msg_${cursor.replace('.', '_')}`;
}

/**
 * The events an endpoint may choose (README "Webhooks"). `operatorOnly`: no reseller has them (an
 * operator-level change), so a reseller's endpoint is never offered them.
 */
export interface WebhookEventType {
  type: string;
  description: string;
  operatorOnly?: boolean;
}

export const WEBHOOK_EVENTS: readonly WebhookEventType[] = [
  { type: 'reseller.created', description: 'A reseller was created' },
  { type: 'reseller.updated', description: 'A reseller’s details changed' },
  { type: 'reseller.activated', description: 'A reseller was activated' },
  { type: 'reseller.deactivated', description: 'A reseller was deactivated' },
  { type: 'reseller.plan_assigned', description: 'A reseller’s wholesale plan changed' },
  { type: 'reseller.tax_exemption_changed', description: 'A reseller’s tax exemption changed' },
  { type: 'subscriber.created', description: 'A subscriber was created' },
  { type: 'subscriber.updated', description: 'A subscriber’s details changed' },
  { type: 'subscriber.activated', description: 'A subscriber was activated' },
  { type: 'subscriber.deactivated', description: 'A subscriber was deactivated' },
  { type: 'subscriber.plan_assigned', description: 'A subscriber’s rate plan changed' },
  { type: 'subscriber.tax_exemption_changed', description: 'A subscriber’s tax exemption changed' },
  { type: 'number.assigned', description: 'A phone number was given to a subscriber' },
  { type: 'number.released', description: 'A phone number was taken from a subscriber' },
  { type: 'identity.assigned', description: 'A SIP identity (extension) was given to a subscriber' },
  { type: 'identity.released', description: 'A SIP identity was taken from a subscriber' },
  { type: 'number_range.created', description: 'A number range was given to a reseller' },
  { type: 'number_range.deleted', description: 'A number range was taken back' },
  { type: 'feature_package.created', description: 'A reseller’s feature package was created' },
  { type: 'feature_package.updated', description: 'A reseller’s feature package changed' },
  { type: 'feature_package.retired', description: 'A reseller’s feature package was retired' },
  { type: 'feature_package.offered', description: 'The operator offered a feature package to the reseller' },
  { type: 'feature_package.withdrawn', description: 'The operator withdrew a feature package from the reseller' },
  { type: 'package_assignment.assigned', description: 'A feature package was assigned to a subscriber' },
  { type: 'package_assignment.ended', description: 'A subscriber’s feature package ended' },
  { type: 'toll_package.created', description: 'A reseller’s toll package was created' },
  { type: 'toll_package.updated', description: 'A reseller’s toll package changed' },
  { type: 'toll_package.retired', description: 'A reseller’s toll package was retired' },
  { type: 'toll_package_assignment.created', description: 'A toll package was assigned' },
  { type: 'toll_package_assignment.ended', description: 'A toll package assignment ended' },
  { type: 'destination_group.created', description: 'A reseller’s destination group was created' },
  { type: 'destination_group.updated', description: 'A reseller’s destination group changed' },
  { type: 'destination_group.deleted', description: 'A reseller’s destination group was deleted' },
  { type: 'record_file.closed', description: 'A record file was closed and can be downloaded' },
  { type: 'reconciliation.finished', description: 'A carrier reconciliation run finished', operatorOnly: true },
];

/** The catalogue an endpoint of the operator (all) or of a reseller (no operator-only events) may choose from. */
export function eventsFor(owner: 'operator' | 'reseller'): readonly WebhookEventType[] {
  return owner === 'operator' ? WEBHOOK_EVENTS : WEBHOOK_EVENTS.filter((e) => !e.operatorOnly);
}
