import Doctor from './doctor.js'

/** The command map for oclif's explicit strategy (also what a bundled binary loads). */
export const COMMANDS = {
  doctor: Doctor,
}
