// Preloaded (node --require) by timedMorpho in cli.mjs: at exit, the process's CPU time
// (process.cpuUsage: user and system microseconds, all threads) goes to MORPHO_BENCH_CPU_OUT.
const {writeFileSync} = require('node:fs')

const out = process.env.MORPHO_BENCH_CPU_OUT
if (out) process.on('exit', () => writeFileSync(out, JSON.stringify(process.cpuUsage())))
