import type { IncomingMessage } from 'node:http';
import zlib from 'node:zlib';
import { promisify } from 'node:util';
import type { Refusal } from './outcome';

/** The largest body a post may carry, as sent and once its Content-Encoding is undone. */
export const MAX_BODY_BYTES = 25 * 1024 * 1024;

/** Why a post's body cannot be read: the kind of refusal and a reason the switch's people can act on. */
export class BodyError extends Error {
  constructor(
    readonly refusal: Extract<Refusal, 'unreadable' | 'too-large' | 'unsupported'>,
    message: string,
    /** What arrived, as far as it was read (kept in the rejects). */
    readonly bytes: Buffer,
  ) {
    super(message);
  }
}

/** A post's body: the bytes as sent, and its text. */
export interface PostBody {
  /** As received, before any Content-Encoding was undone. */
  raw: Buffer;
  text: string;
}

const decoders: Record<string, (b: Buffer, o: zlib.ZlibOptions & zlib.BrotliOptions) => Promise<Buffer>> = {
  gzip: promisify(zlib.gunzip),
  'x-gzip': promisify(zlib.gunzip),
  br: promisify(zlib.brotliDecompress),
  // HTTP's deflate is the zlib format; some senders use raw deflate, which is tried second.
  deflate: async (b, o) => {
    try {
      return await promisify(zlib.inflate)(b, o);
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw err;
      return promisify(zlib.inflateRaw)(b, o);
    }
  },
};

const CHARSETS = new Set(['utf-8', 'utf8', 'us-ascii']);

/**
 * Reads a post's body exactly as sent and makes text of it, refusing (BodyError, with the bytes
 * read) what can never become a record: too large, an encoding or charset we do not read, a body
 * that does not decompress, bytes that are not UTF-8 (a replacement character would silently turn
 * distinct leg ids into one), and NUL bytes (no record format has them, and Postgres text refuses
 * them).
 */
export async function readPostBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<PostBody> {
  const raw = await readRawBody(req, limit);
  return { raw, text: await decodeBody(raw, { contentEncoding: req.headers['content-encoding'], contentType: req.headers['content-type'] }, limit) };
}

/** The body exactly as sent, refused (BodyError too-large) past `limit` bytes, by its declared length first. */
export function readRawBody(req: IncomingMessage, limit = MAX_BODY_BYTES): Promise<Buffer> {
  const declared = Number(req.headers['content-length']);
  return readRaw(req, limit, Number.isFinite(declared) ? declared : undefined);
}

const GZIP_MAGIC = (b: Buffer) => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/**
 * The text of a body as sent: its Content-Encoding undone, then checked as readPostBody says.
 * `sniffGzip`: a body that is still gzip (magic bytes 1f 8b) is gunzipped too, for senders that
 * post gzip without saying so (DIDWW's CDR stream) and for .gz files uploaded as they are.
 */
export async function decodeBody(
  raw: Buffer,
  headers: { contentEncoding?: string | string[]; contentType?: string | string[] },
  limit = MAX_BODY_BYTES,
  opts: { sniffGzip?: boolean } = {},
): Promise<string> {
  const encodings = String(headers.contentEncoding ?? 'identity').toLowerCase().split(',').map((e) => e.trim()).filter((e) => e && e !== 'identity');
  if (opts.sniffGzip && GZIP_MAGIC(raw) && !encodings.some((e) => e === 'gzip' || e === 'x-gzip')) encodings.push('gzip');
  let bytes = raw;
  // Encodings are listed in the order they were applied: undone from the last.
  for (const enc of encodings.reverse()) {
    const decode = decoders[enc];
    if (!decode) throw new BodyError('unsupported', `Content-Encoding ${enc} is not supported: send gzip, deflate, br or none`, raw);
    try {
      bytes = await decode(bytes, { maxOutputLength: limit });
    } catch (err) {
      if ((err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') throw new BodyError('too-large', `the body is larger than ${limit} bytes once decompressed: send fewer records per post`, raw);
      throw new BodyError('unreadable', `the body is not valid ${enc} data: ${(err as Error).message}`, raw);
    }
  }

  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(String(headers.contentType ?? ''))?.[1]?.toLowerCase();
  if (charset && !CHARSETS.has(charset)) throw new BodyError('unsupported', `charset ${charset} is not supported: send UTF-8`, raw);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new BodyError('unreadable', `the body is not valid UTF-8 (first bad byte at offset ${firstInvalidUtf8(bytes)})`, raw);
  }
  const nul = text.indexOf('\0');
  if (nul >= 0) throw new BodyError('unreadable', `the body holds a NUL byte (character ${nul}): no call record format has one`, raw);
  return text;
}

function readRaw(req: IncomingMessage, limit: number, declared: number | undefined): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (err: Error | undefined, value?: Buffer) => {
      if (done) return;
      done = true;
      req.off('data', onData);
      if (err) {
        // Stop reading what would be thrown away; the answer still goes out.
        req.resume();
        reject(err);
      } else resolve(value as Buffer);
    };
    const tooLarge = () => new BodyError('too-large', `the body is larger than ${limit} bytes: send fewer records per post`, Buffer.concat(chunks).subarray(0, 64 * 1024));
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) return finish(tooLarge());
      chunks.push(chunk);
    };
    if (declared !== undefined && declared > limit) return finish(tooLarge());
    req.on('data', onData);
    req.once('end', () => finish(undefined, Buffer.concat(chunks, size)));
    req.once('error', (err) => finish(err));
    req.once('aborted', () => finish(Object.assign(new Error('the client aborted the post'), { code: 'ECONNABORTED' })));
  });
}

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence. */
export function firstInvalidUtf8(b: Buffer): number {
  let i = 0;
  while (i < b.length) {
    const c = b[i] as number;
    const n = c < 0x80 ? 0 : c >= 0xc2 && c < 0xe0 ? 1 : c >= 0xe0 && c < 0xf0 ? 2 : c >= 0xf0 && c < 0xf5 ? 3 : -1;
    if (n < 0) return i;
    for (let k = 1; k <= n; k++) if (((b[i + k] ?? 0) & 0xc0) !== 0x80) return i;
    i += n + 1;
  }
  return b.length;
}
