import {Flags} from '@oclif/core'
import {MorphoCommand} from '../src/cli/base.js'
import {BACKEND_CHOICES, resolveBackend} from '../src/config.js'
import {type DoctorReport, diagnose} from '../src/doctor.js'

export default class Doctor extends MorphoCommand {
  static override summary = 'Check the machine: Node, the TF.js backend that loads and why others did not, the store.'

  static override examples = ['<%= config.bin %> doctor', '<%= config.bin %> doctor --backend cpu --json']

  static override flags = {
    backend: Flags.string({
      description: 'TF.js backend to try [default: $MORPHO_BACKEND, else auto].',
      options: [...BACKEND_CHOICES],
    }),
  }

  async run(): Promise<DoctorReport> {
    const {flags} = await this.parse(Doctor)
    const report = await diagnose({
      morphoVersion: this.config.version,
      backend: resolveBackend(flags.backend),
      store: await this.store(flags),
    })
    const p = this.paint
    this.log(`morpho    ${report.morpho}`)
    this.log(
      `node      ${report.node} (${report.platform}, ${report.install === 'binary' ? 'single-file executable' : 'npm package'})`,
    )
    const simd = report.backend.simd === undefined ? '' : report.backend.simd ? ' (SIMD)' : ' (no SIMD)'
    const threads = report.backend.threads === 1 ? '1 thread' : `${report.backend.threads} threads`
    this.log(
      `backend   ${p.bold(report.backend.name)}${simd}, tfjs ${report.backend.tfjsVersion}, training on ${threads}`,
    )
    for (const a of report.backend.attempts) {
      const mark = a.ok ? p.green('ok') : p.yellow('unavailable')
      this.log(`  ${a.backend.padEnd(10)} ${mark}${a.reason ? `: ${a.reason}` : ''}`)
    }
    const s = report.store
    this.log(`store     ${s.path}${s.exists ? '' : ' (not created yet)'}${s.writable ? '' : p.red(' (not writable)')}`)
    this.log(`registry  ${s.registry ? 'present' : 'none yet'}`)
    return report
  }
}
