import type { Command, Option } from "commander";
import { UserError } from "../../node/user-error.ts";

/** Long option names (and -x short ones) a command accepts, its own and the program's. */
function flags(cmd: Command, globals: readonly Option[]): string[] {
  const out = new Set<string>(["--help"]);
  for (const o of [...cmd.options, ...globals]) {
    if (o.long) out.add(o.long);
    if (o.short) out.add(o.short);
  }
  return [...out];
}

const visible = (cmd: Command) => cmd.commands.filter((c) => c.name() !== "help");
const quote = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;

/** A bash completion script generated from the command tree, so it never lags behind it. */
export function bashScript(program: Command): string {
  const globals = program.options;
  const top = visible(program);
  const cases = top.map((c) => {
    const subs = visible(c);
    const inner = subs.map((s) => `        ${s.name()}) words=${quote(flags(s, globals).join(" "))} ;;`).join("\n");
    const first = [...subs.map((s) => s.name()), ...flags(c, globals)].join(" ");
    return `    ${c.name()})
      if [[ $COMP_CWORD -eq 2 ]]; then words=${quote(first)}; else
      case "\${COMP_WORDS[2]}" in
${inner}
        *) words=${quote(flags(c, globals).join(" "))} ;;
      esac; fi ;;`;
  });
  return `# sparki completion for bash: eval "$(sparki completion bash)" in ~/.bashrc
_sparki() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" words=""
  if [[ $COMP_CWORD -eq 1 ]]; then
    words=${quote([...top.map((c) => c.name()), ...flags(program, [])].join(" "))}
  else
    case "\${COMP_WORDS[1]}" in
${cases.join("\n")}
    esac
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _sparki sparki
`;
}

/** zsh reads the bash script through bashcompinit, which ships with zsh. */
export function zshScript(program: Command): string {
  return `# sparki completion for zsh: eval "$(sparki completion zsh)" in ~/.zshrc
autoload -U +X compinit && compinit
autoload -U +X bashcompinit && bashcompinit
${bashScript(program).split("\n").slice(1).join("\n")}`;
}

export function fishScript(program: Command): string {
  const globals = program.options;
  const top = visible(program);
  const lines = ["# sparki completion for fish: sparki completion fish > ~/.config/fish/completions/sparki.fish", "complete -c sparki -f"];
  const opt = (cond: string, o: Option) =>
    `complete -c sparki -n ${quote(cond)}${o.long ? ` -l ${o.long.slice(2)}` : ""}${o.short ? ` -s ${o.short.slice(1)}` : ""}${o.required || o.optional ? " -r" : ""} -d ${quote(o.description)}`;
  for (const o of globals) lines.push(opt("true", o));
  for (const c of top) {
    lines.push(`complete -c sparki -n '__fish_use_subcommand' -a ${c.name()} -d ${quote(c.description())}`);
    const subs = visible(c);
    const names = subs.map((s) => s.name()).join(" ");
    for (const s of subs) {
      lines.push(
        `complete -c sparki -n ${quote(`__fish_seen_subcommand_from ${c.name()}; and not __fish_seen_subcommand_from ${names}`)} -a ${s.name()} -d ${quote(s.description())}`,
      );
      for (const o of s.options) lines.push(opt(`__fish_seen_subcommand_from ${c.name()}; and __fish_seen_subcommand_from ${s.name()}`, o));
    }
    for (const o of c.options) lines.push(opt(`__fish_seen_subcommand_from ${c.name()}`, o));
  }
  return `${lines.join("\n")}\n`;
}

export function registerCompletion(program: Command): void {
  program
    .command("completion")
    .description("print a shell completion script (bash, zsh or fish)")
    .argument("<shell>", "bash, zsh or fish")
    .action((shell: string) => {
      const scripts: Record<string, (p: Command) => string> = { bash: bashScript, zsh: zshScript, fish: fishScript };
      const make = scripts[shell];
      if (!make) throw new UserError(`no completion for ${shell}; choose bash, zsh or fish`, 2);
      process.stdout.write(make(program));
    });
}
