/**
 * The completion scripts `morpho autocomplete` prints. Each hands the words typed so far to
 * `morpho __complete` (the same binary the user typed) and offers its answer; an empty answer
 * falls back to file names.
 */

export const SHELLS = ['bash', 'zsh'] as const
export type Shell = (typeof SHELLS)[number]

export function completionScript(shell: Shell, bin: string): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}_complete`
  if (shell === 'bash') {
    // The line up to the cursor, split on blanks (bash's own words also split at "=" and ":"),
    // with an empty last word after a trailing blank; bash's current word is what is replaced.
    return `# ${bin} completion for bash: eval "$(${bin} autocomplete bash)"
${fn}() {
  local line=\${COMP_LINE:0:COMP_POINT} cur=\${COMP_WORDS[COMP_CWORD]}
  local -a words
  read -r -a words <<<"$line"
  [[ $line == *[[:space:]] || \${#words[@]} -eq 0 ]] && words+=("")
  [[ $cur == "=" ]] && cur=""
  local IFS=$'\\n'
  COMPREPLY=($(compgen -W "$("\${COMP_WORDS[0]}" __complete -- "\${words[@]:1}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F ${fn} ${bin}
`
  }
  return `#compdef ${bin}
# ${bin} completion for zsh: eval "$(${bin} autocomplete zsh)" after compinit
${fn}() {
  local -a candidates
  candidates=("\${(@f)$("\${words[1]}" __complete -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  compset -P '*='
  if [[ -z \${candidates[1]} ]]; then
    _files
  else
    compadd -a candidates
  fi
}
compdef ${fn} ${bin}
`
}
