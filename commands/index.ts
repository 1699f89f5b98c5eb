import AliasDelete from './alias/delete.js'
import AliasSet from './alias/set.js'
import Autocomplete from './autocomplete.js'
import Best from './best.js'
import Complete from './complete.js'
import Delete from './delete.js'
import Doctor from './doctor.js'
import Export from './export.js'
import Gc from './gc.js'
import Health from './health.js'
import Help from './help.js'
import History from './history.js'
import Import from './import.js'
import List from './list.js'
import Predict from './predict.js'
import Production from './production.js'
import Promote from './promote.js'
import Register from './register.js'
import Rollback from './rollback.js'
import RunsDelete from './runs/delete.js'
import RunsList from './runs/list.js'
import RunsShow from './runs/show.js'
import Serve from './serve.js'
import StoreCopy from './store/copy.js'
import StoreInit from './store/init.js'
import SweepReport from './sweep/report.js'
import Sweep from './sweep.js'
import SweepsList from './sweeps/list.js'
import SweepsShow from './sweeps/show.js'
import Train from './train.js'
import Ui from './ui.js'

/** The command map for oclif's explicit strategy (also what a bundled binary loads). */
export const COMMANDS = {
  help: Help,
  doctor: Doctor,
  train: Train,
  sweep: Sweep,
  'sweep:report': SweepReport,
  'sweeps:list': SweepsList,
  'sweeps:show': SweepsShow,
  'runs:list': RunsList,
  'runs:show': RunsShow,
  'runs:delete': RunsDelete,
  register: Register,
  promote: Promote,
  list: List,
  best: Best,
  production: Production,
  history: History,
  rollback: Rollback,
  'alias:set': AliasSet,
  'alias:delete': AliasDelete,
  delete: Delete,
  gc: Gc,
  export: Export,
  import: Import,
  autocomplete: Autocomplete,
  __complete: Complete,
  ui: Ui,
  serve: Serve,
  predict: Predict,
  health: Health,
  'store:init': StoreInit,
  'store:copy': StoreCopy,
}
