/** The new-project form: two text fields (Ink has no text input of its own; this is a minimal one). */
import { Box, Text, type Key } from "ink";
import { useState, type ReactNode } from "react";
import { basename } from "node:path";
import { gitUrlFromInput } from "../git-source.ts";
import { h, useKeys } from "./ui.ts";

/** One line of editable text; the cursor stays at the end, a long value shows its tail. */
export function TextInput({ value, focused, width, placeholder }: { value: string; focused: boolean; width: number; placeholder?: string }): ReactNode {
  const room = width - 1;
  const shown = value.length > room ? `…${value.slice(value.length - room + 1)}` : value;
  const cursor = focused ? h(Text, { inverse: true }, " ") : null;
  if (!value && placeholder) return h(Box, { width }, cursor, h(Text, { dimColor: true, wrap: "truncate" }, placeholder.slice(0, room)));
  return h(Box, { width }, h(Text, { wrap: "truncate" }, shown), cursor);
}

/** A key applied to a field's value: printable text (a paste too) is added, Backspace removes, Ctrl-U clears. */
export function editValue(value: string, input: string, key: Key): string {
  if (key.backspace || key.delete) return value.slice(0, -1);
  if (key.ctrl && input === "u") return "";
  if (key.ctrl || key.meta || key.return || key.tab || key.escape || key.upArrow || key.downArrow || key.leftArrow || key.rightArrow) return value;
  return value + input.replace(/[\x00-\x1f\x7f]/g, "");
}

const FIELDS = [
  { label: "Name", placeholder: "default: the repository's folder name" },
  { label: "Repository", placeholder: "https://host/acme/web.git, git@host:web.git, ~/src/web or ." },
] as const;

/** A project name from its repository: `~/src/web` or `…/web.git` make `web`. */
export const nameFromRepo = (gitUrl: string) =>
  basename(gitUrl.replace(/\/+$/, "").replace(/^.*:/, ""))
    .replace(/\.git$/, "")
    .replace(/[^\w .-]/g, "-") || "project";

export interface ProjectFormProps {
  active: boolean;
  height: number;
  /** Relative paths are taken from here. */
  cwd: string;
  onSubmit(body: { name: string; gitUrl: string }): Promise<void>;
  onCancel(): void;
}

export function ProjectForm(p: ProjectFormProps): ReactNode {
  const [values, setValues] = useState(["", ""]);
  const [focus, setFocus] = useState(0);
  const [message, setMessage] = useState<string>();
  const [busy, setBusy] = useState(false);
  useKeys((input, key) => {
    if (busy) return;
    if (key.escape) return p.onCancel();
    if (key.tab || key.downArrow || key.upArrow) return setFocus((f) => (f + 1) % FIELDS.length);
    if (key.return && focus === 0) return setFocus(1);
    if (key.return) {
      const gitUrl = gitUrlFromInput(values[1] ?? "", p.cwd);
      if (!gitUrl) return setMessage("the repository is needed: a git URL or a folder");
      const name = values[0]?.trim() || nameFromRepo(gitUrl);
      setBusy(true);
      setMessage(`creating ${name}…`);
      p.onSubmit({ name, gitUrl }).catch((e: Error) => (setBusy(false), setMessage(e.message)));
      return;
    }
    setValues((v) => v.map((x, i) => (i === focus ? editValue(x, input, key) : x)));
  }, p.active);
  return h(
    Box,
    { flexDirection: "column", height: p.height },
    h(Text, { bold: true, color: "cyan" }, "New project"),
    h(Text, { dimColor: true }, "A git URL, or a folder on this machine that is a git repository."),
    h(Text, null, " "),
    ...FIELDS.map((f, i) =>
      h(
        Box,
        { key: f.label },
        h(Text, { color: focus === i ? "cyan" : undefined }, focus === i ? "❯ " : "  "),
        h(Box, { width: 12 }, h(Text, { bold: focus === i }, f.label)),
        h(TextInput, { value: values[i] ?? "", focused: focus === i, width: 64, placeholder: f.placeholder }),
      ),
    ),
    h(Text, null, " "),
    message ? h(Text, { color: "yellow", wrap: "truncate" }, message) : null,
  );
}
