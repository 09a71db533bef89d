// Writes public/favicon.ico: the brand's navy tile with a white "V", 16 and 32 px (32-bit BMP
// images in one ICO). Run once when the icon changes: node scripts/make-favicon.mjs
import fs from 'node:fs';
import path from 'node:path';

const NAVY = [0x3d, 0x21, 0x14, 0xff]; // BGRA of #14213d
const WHITE = [0xff, 0xff, 0xff, 0xff];
const CLEAR = [0, 0, 0, 0];

/** Distance from point p to segment ab. */
function dist(px, py, ax, ay, bx, by) {
  const t = Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)));
  return Math.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)));
}

function pixel(x, y, n) {
  // Work on a 32-unit grid whatever the size; sample at the pixel's centre.
  const s = 32 / n;
  const u = (x + 0.5) * s;
  const v = (y + 0.5) * s;
  const r = 6;
  const cx = Math.min(Math.max(u, r), 32 - r);
  const cy = Math.min(Math.max(v, r), 32 - r);
  if (Math.hypot(u - cx, v - cy) > r) return CLEAR;
  const w = 2.6;
  if (dist(u, v, 9, 8, 16, 25) < w || dist(u, v, 23, 8, 16, 25) < w) return WHITE;
  return NAVY;
}

function bmp(n) {
  const header = Buffer.alloc(40);
  header.writeUInt32LE(40, 0);
  header.writeInt32LE(n, 4);
  header.writeInt32LE(n * 2, 8); // colour rows plus the AND mask's
  header.writeUInt16LE(1, 12);
  header.writeUInt16LE(32, 14);
  const rows = [];
  for (let y = n - 1; y >= 0; y--) for (let x = 0; x < n; x++) rows.push(...pixel(x, y, n));
  const mask = Buffer.alloc(Math.ceil(n / 32) * 4 * n); // all zero: the alpha channel decides
  return Buffer.concat([header, Buffer.from(rows), mask]);
}

const sizes = [16, 32];
const images = sizes.map(bmp);
const dir = Buffer.alloc(6);
dir.writeUInt16LE(1, 2);
dir.writeUInt16LE(sizes.length, 4);
let offset = 6 + 16 * sizes.length;
const entries = sizes.map((n, i) => {
  const e = Buffer.alloc(16);
  e.writeUInt8(n, 0);
  e.writeUInt8(n, 1);
  e.writeUInt16LE(1, 4);
  e.writeUInt16LE(32, 6);
  e.writeUInt32LE(images[i].length, 8);
  e.writeUInt32LE(offset, 12);
  offset += images[i].length;
  return e;
});
const out = path.resolve(import.meta.dirname, '../public/favicon.ico');
fs.writeFileSync(out, Buffer.concat([dir, ...entries, ...images]));
console.log(`wrote ${out}`);
