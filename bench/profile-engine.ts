// Profiling helper, the engine part alone:
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-engine.ts            (all loops, as the bench runs them)
//   node --cpu-prof --cpu-prof-dir=/tmp/prof --import tsx bench/profile-engine.ts rateLeg    (one loop only: noop, findRate, rateLeg, priceCharge, priceAndText)
import { benchEngine, engineLoops, runLoop } from './engine';

const only = process.argv[2] as keyof ReturnType<typeof engineLoops> | undefined;
if (only) {
  console.log(`${only} ${Math.round(runLoop(only, { prefixes: 50_000, legs: 50_000, minMs: Number(process.env.MIN_MS ?? 5000) }))} legs/s`);
} else {
  const r = benchEngine({ prefixes: 50_000, legs: 50_000, minMs: 3000 });
  console.log(`rateLeg ${Math.round(r.rateLeg)} legs/s, findRate ${Math.round(r.findRate)}, priceCharge ${Math.round(r.priceCharge)}, compile ${Math.round(r.compileMs)} ms`);
}
