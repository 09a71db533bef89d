/**
 * Record identity: the idempotency key of a carrier record, and the check that a file does not
 * name the same record id twice.
 */
import { createHash } from 'node:crypto';
import { FieldProblem } from './record';

/** SHA-256 of text (UTF-8) or bytes, as 64 hex digits. Pure: the same input, the same digest. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * The key that makes storing a carrier record idempotent (per carrier): the carrier's record id
 * when its format has one ("id:" + id), else a digest of the file's checksum and the record's line
 * ("line:" + sha256(checksum + ":" + line)), so a re-posted file stores nothing twice and two
 * files never share a key. `fileChecksum` is the caller's checksum of the file as received.
 */
export function carrierRecordKey(record: { carrierRecordId: string | null; line: number }, fileChecksum: string): string {
  if (record.carrierRecordId !== null && record.carrierRecordId !== '') return `id:${record.carrierRecordId}`;
  return `line:${sha256Hex(`${fileChecksum}:${record.line}`)}`;
}

/** Remembers the record ids of one file: a second row with the same id is refused, naming the first. */
export class RecordIds {
  private readonly seen = new Map<string, number>();
  check(id: string, line: number): void {
    const first = this.seen.get(id);
    if (first !== undefined) throw new FieldProblem('record_id', `record id "${id}" was already given on line ${first}`);
    this.seen.set(id, line);
  }
}
