import type {ChalkInstance} from 'chalk'
import {metric as fmt} from '../text.js'
import type {RunEvent} from '../tracking/types.js'
import type {EpochMetrics} from '../training/types.js'

/** One-line views of training epochs and events, for live progress and `runs show`. */

const PHASE: Record<EpochMetrics['phase'], string> = {warm_up: 'warm-up', adaptation: 'adapt'}

export function epochLine(m: EpochMetrics, total: number, paint: ChalkInstance): string {
  const width = String(total).length
  const s = m.seeds
  return [
    paint.dim(PHASE[m.phase].padEnd(7)),
    `epoch ${String(m.epoch).padStart(width)}/${total}`,
    `loss ${fmt(m.train_loss)}`,
    `val_loss ${fmt(m.val_loss)}`,
    `val_acc ${paint.bold(m.val_acc.toFixed(4))}`,
    `seeds ${s.dormant}/${s.training}/${s.blending}/${s.active} ${paint.dim('(d/t/b/a)')}`,
  ].join('  ')
}

export function eventLine(e: RunEvent, paint: ChalkInstance): string | undefined {
  switch (e.type) {
    case 'phase':
      return e.to === 'adaptation'
        ? paint.cyan(`phase 2 (adaptation) from epoch ${e.epoch}: backbone frozen, seeds may germinate`)
        : paint.cyan(`phase 1 (warm-up) from epoch ${e.epoch}: training the backbone`)
    case 'germination':
      return paint.green(
        `epoch ${e.epoch}: germinated ${e.seed} (plateau ${e.plateau}, val_acc ${e.val_acc.toFixed(4)}, activation variance ${e.health.toFixed(4)})`,
      )
    case 'seed_state':
      return e.from === 'dormant' ? undefined : paint.green(`epoch ${e.epoch}: ${e.seed} ${e.from} → ${e.to}`)
    case 'drift_warning':
      return paint.yellow(`epoch ${e.epoch}: ${e.seed} drift ${e.drift.toFixed(3)} is above --drift-warn`)
    case 'phase_skipped':
      return paint.cyan(`phase 2 (adaptation) skipped at epoch ${e.epoch}: ${e.reason}`)
    case 'phase_ended':
      return paint.cyan(`phase 2 (adaptation) ended after epoch ${e.epoch}: ${e.reason}`)
    case 'early_stop':
      return paint.cyan(
        `early stop after epoch ${e.epoch}: no lower val_loss for ${e.patience} epochs (the best was at epoch ${e.best_epoch})`,
      )
    default:
      return undefined
  }
}
