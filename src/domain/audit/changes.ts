/** Before/after pairs for the fields that changed, for showing a change at a glance. */
export function changedFields(before: Record<string, unknown> | null, after: Record<string, unknown> | null) {
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  const out: Array<{ field: string; before: unknown; after: unknown }> = [];
  for (const k of keys) {
    if (k === 'updated_at' || k === 'updatedAt') continue;
    const b = before?.[k];
    const a = after?.[k];
    if (JSON.stringify(b) !== JSON.stringify(a)) out.push({ field: k, before: b ?? null, after: a ?? null });
  }
  return out;
}
