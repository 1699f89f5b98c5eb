/**
 * Tiny real runs that go through every seed state within 14 epochs (about half a second each):
 * moons, 3 features, a 2-layer net of width 8, a plateau patience of one epoch, short blends.
 */
export const GROWING = {
  problem: 'moons',
  samples: 240,
  hiddenDim: 8,
  numLayers: 2,
  warmUpEpochs: 4,
  adaptationEpochs: 10,
  patience: 1,
  delta: 0.01,
  blendSteps: 4,
  lr: 0.01,
  progressThresh: 0.1,
  shadowLr: 0.05,
  // The original's rule, on a fixed schedule: seeds grow within these few epochs.
  controller: 'plateau',
  accThreshold: 0.95,
} as const

/** The same as `morpho train` flags. */
export const GROWING_FLAGS = Object.entries(GROWING).flatMap(([key, value]) => [
  `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
  String(value),
])
