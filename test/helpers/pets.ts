/**
 * A small CSV file with a header and text labels, as a user has one: `width,height,species`
 * with cats, dogs and owls, and the training flags that fit it in well under a second.
 */

/** Where each species sits; rows are spread around it by a fixed pattern, no randomness. */
export const CENTRES: Record<string, [number, number]> = {owl: [2.5, 4], dog: [4, 1], cat: [1, 1]}
/** One row at each centre: what every answer must predict. */
export const AT_CENTRES = [CENTRES.cat!, CENTRES.dog!, CENTRES.owl!]
/** The classes, sorted as the model keeps them. */
export const LABELS = ['cat', 'dog', 'owl']

export function petsCsv(header = 'width,height,species'): string {
  const lines = [header]
  // Owls first: the classes' order must come from the labels, not from the rows.
  const species = ['owl', 'dog', 'cat']
  for (let i = 0; i < 72; i++) {
    const [x, y] = CENTRES[species[i % 3]!]!
    const dx = (((i * 37) % 11) - 5) / 20
    const dy = (((i * 53) % 7) - 3) / 12
    lines.push(`${(x + dx).toFixed(3)},${(y + dy).toFixed(3)},${species[i % 3]}`)
  }
  return `${lines.join('\n')}\n`
}

export const PETS_TRAINING = [
  ...['--hidden-dim', '8', '--num-layers', '2', '--warm-up-epochs', '40', '--adaptation-epochs', '2'],
  ...['--batch-size', '16', '--quiet'],
]
