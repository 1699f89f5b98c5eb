// oclif maps dist paths back to the TypeScript sources in test mode; tsx's CommonJS hook lets
// it resolve them without a warning per command.
import {register} from 'tsx/cjs/api'

register()
