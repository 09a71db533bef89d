// Profiling helper: only the engine part, for a CPU profile: node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-engine.ts
import { benchEngine } from './engine';
const r = benchEngine({ prefixes: 50_000, legs: 50_000, minMs: 3000 });
console.log(`rateLeg ${Math.round(r.rateLeg)} legs/s, findRate ${Math.round(r.findRate)}, priceCharge ${Math.round(r.priceCharge)}`);
