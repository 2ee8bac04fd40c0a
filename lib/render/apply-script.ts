/**
 * The script one remote step runs: write files atomically, validate, activate, keep the last working config.
 *
 * - Each file is written to a temporary name next to its target and moved into place only when its content or
 *   mode/owner differ, so a second run with the same input changes nothing and activates nothing.
 * - After writing, the validation commands run (`nginx -t`, `sshd -t`, ...) when a file changed. If one fails,
 *   every file this run replaced is put back from its backup (and new files are removed), and the script exits
 *   non-zero: the host keeps its previous working configuration.
 * - Activation commands (reloads) run only when something changed.
 * - The script prints one line per file (`changed`/`unchanged`) and a final `result: changed|unchanged`.
 *
 * The script holds no value that is unknown before the update: it travels in the step's `create` command
 * (`stepCommand`), so the engine and the policy pack see every file, mode, owner and command at the first
 * `pulumi preview`. Values that exist only during the update (generated secrets, a new database's address) are
 * written into the files as placeholders (`lateValue`, `secretValue`) and arrive on stdin (`renderPayload`), one
 * `name base64` line each; the script fills them in on the host before it compares and installs a file. Secrets
 * therefore appear in no command line, no process list, no environment and no log line.
 */

export type ManagedFile = {
    path: string;
    content: string;
    /** Octal mode. Default `0644`. */
    mode?: string;
    /** `user:group`. Default `root:root`. */
    owner?: string;
};

export type ApplyScript = {
    /** Step name, for log lines. */
    name: string;
    /**
     * Names of the values the script expects on stdin (see `lateValue`/`secretValue`). Default: none; the
     * script then reads nothing from stdin. A missing or extra value fails the run before any file is written.
     */
    values?: string[];
    /** Commands run first, every time; they must be idempotent (package installs, users, directories). */
    prepare?: string[];
    files: ManagedFile[];
    /** Commands that must all succeed after the files are written; otherwise the files are rolled back. */
    validate?: string[];
    /** Commands run only when a file changed (reloads). */
    activate?: string[];
    /** Commands run at the end of every run (idempotent convergence that is not a file, e.g. `systemctl enable --now`). */
    ensure?: string[];
};

/**
 * What a component's steps will write and run, as data, carried among the component's inputs (`plan`): the engine
 * registers a component before its children, so a resource policy on it judges every step before the first one
 * runs, in every mode of `pulumi up`. The scripts take no values (nothing unknown before the update).
 */
export type HostPlan = { steps: ApplyScript[] };

/** A planned step's resource name: `<component>-<script name>`. */
export const plannedStepName = (component: string, script: Pick<ApplyScript, "name">) => `${component}-${script.name}`;

const SAFE_PATH = /^\/[A-Za-z0-9._/@+-]+$/;
/** The path with every character an apply script's path may not have (a shell would read it) as `_`. */
export const safeFilePath = (p: string) => p.replace(/[^A-Za-z0-9._/@+-]/g, "_");
const VALUE_NAME = /^[a-z][a-z0-9-]*$/;
const PLACEHOLDER = /@@(value|secret):([a-z][a-z0-9-]*)@@/g;

/**
 * A placeholder for a value that exists only during the update (a provider output such as a database address).
 * The step passes the value in its `values`; the host fills it in. Policies read the placeholder.
 */
export const lateValue = (name: string) => `@@value:${checkName(name)}@@`;
/** A placeholder for a secret; the step passes it in its `secrets`. Policies see only that a secret goes there. */
export const secretValue = (name: string) => `@@secret:${checkName(name)}@@`;

function checkName(name: string): string {
    if (!VALUE_NAME.test(name)) throw new Error(`value name must match ${VALUE_NAME}, got ${JSON.stringify(name)}`);
    return name;
}

/** The placeholders in a text: kind (`value` or `secret`) and name, in order of appearance. */
export function placeholders(text: string): { kind: "value" | "secret"; name: string }[] {
    return [...text.matchAll(PLACEHOLDER)].map((m) => ({ kind: m[1] as "value" | "secret", name: m[2] }));
}

/** A text with its placeholders replaced by their values, as the host fills them in (`fill_values`). */
export function fillPlaceholders(text: string, values: Record<string, string>): string {
    return text.replace(PLACEHOLDER, (whole, _kind: string, name: string) => values[name] ?? whole);
}

/** What a step sends on stdin: one `name base64(value)` line per value, sorted by name. */
export function renderPayload(values: Record<string, string>): string {
    return Object.keys(values)
        .sort()
        .map((k) => `${checkName(k)} ${Buffer.from(values[k], "utf8").toString("base64")}\n`)
        .join("");
}

/** The values of a payload (SEC-5 looks for generated secrets in a non-secret step's values). */
export function parsePayload(payload: string): Record<string, string> {
    const out: Record<string, string> = {};
    for (const line of payload.split("\n").filter(Boolean)) {
        const m = /^([a-z][a-z0-9-]*) ([A-Za-z0-9+/=]*)$/.exec(line);
        if (!m) throw new Error("payload: each line is `name base64`");
        out[m[1]] = Buffer.from(m[2], "base64").toString("utf8");
    }
    return out;
}

const STEP_EOF = "PULUMI_STEP_SCRIPT";

/**
 * The command a step runs over SSH: the apply script, verbatim in a here-document, written to a private
 * temporary file and run as root. stdin (the values, if any) passes through to the script. sudo logs only
 * `bash /tmp/tmp.XXXX`; the file is removed on exit; the script's exit status is the command's.
 */
export function stepCommand(script: string): string {
    if (script.split("\n").includes(STEP_EOF)) throw new Error(`stepCommand: the script contains the line ${STEP_EOF}`);
    return [`t=$(mktemp) || exit 1`, `trap 'rm -f "$t"' EXIT`, `cat > "$t" <<'${STEP_EOF}'`, script.replace(/\n$/, ""), STEP_EOF, `sudo bash "$t"`].join("\n");
}

/** The apply script inside a step command, or undefined when the command is not of `stepCommand`'s form. */
export function scriptOfCommand(create: string): string | undefined {
    const m = new RegExp(`^t=\\$\\(mktemp\\) \\|\\| exit 1\ntrap 'rm -f "\\$t"' EXIT\ncat > "\\$t" <<'${STEP_EOF}'\n([\\s\\S]*)\n${STEP_EOF}\nsudo bash "\\$t"$`).exec(create);
    return m ? `${m[1]}\n` : undefined;
}
const SAFE_OWNER = /^[a-z_][a-z0-9_-]*:[a-z_][a-z0-9_-]*$/;

/**
 * Bash line that enables and starts units that are not enabled and running yet; a no-op (and cheap: no
 * `systemctl enable`, which runs generators and SysV helpers) when they already are.
 */
export function enableNow(units: string[]): string {
    if (units.some((u) => !/^[A-Za-z0-9@._-]+$/.test(u))) throw new Error(`enableNow: not unit names: ${units.join(" ")}`);
    return units.map((u) => `if ! systemctl is-enabled --quiet ${u} || ! systemctl is-active --quiet ${u}; then systemctl enable --now ${u} >/dev/null 2>&1; log "enabled ${u}"; fi`).join("\n");
}

/** Single-quotes a string for bash. */
export function shq(s: string): string {
    return `'${s.replace(/'/g, `'\\''`)}'`;
}

export function renderApplyScript(spec: ApplyScript): string {
    for (const f of spec.files) {
        if (!SAFE_PATH.test(f.path)) throw new Error(`${spec.name}: unsafe file path ${JSON.stringify(f.path)}`);
        if (f.owner && !SAFE_OWNER.test(f.owner)) throw new Error(`${spec.name}: owner must be user:group, got ${JSON.stringify(f.owner)}`);
        if (f.mode && !/^0?[0-7]{3,4}$/.test(f.mode)) throw new Error(`${spec.name}: mode must be octal, got ${JSON.stringify(f.mode)}`);
    }
    const values = [...new Set(spec.values ?? [])].sort();
    values.forEach(checkName);
    const used = new Set(spec.files.flatMap((f) => placeholders(f.content).map((p) => p.name)));
    const unknown = [...used].filter((n) => !values.includes(n));
    if (unknown.length) throw new Error(`${spec.name}: placeholders without a value: ${unknown.join(", ")}`);
    const unused = values.filter((n) => !used.has(n));
    if (unused.length) throw new Error(`${spec.name}: values no file uses: ${unused.join(", ")}`);
    const section = (title: string, cmds: string[] | undefined) => (cmds?.length ? [`# ${title}`, ...cmds, ""] : []);
    const lines = [
        "#!/bin/bash",
        `# Managed by Pulumi: remote step "${spec.name}". Safe to run again: unchanged files are left alone.`,
        "set -euo pipefail",
        "umask 022",
        `step=${shq(spec.name)}`,
        "changed=()",
        "backups=()",
        "created=()",
        "",
        "log() { echo \"[$step] $*\"; }",
        "",
        ...(values.length
            ? [
                  "# The values this step gets during the update arrive on stdin, one `name base64` line each;",
                  "# they are kept in memory and written only into the files that name them.",
                  "declare -A value_b64=()",
                  "while IFS=' ' read -r k v || [ -n \"${k:-}\" ]; do [ -n \"$k\" ] && value_b64[$k]=$v; k=; done",
                  `wanted=(${values.join(" ")})`,
                  'for k in "${wanted[@]}"; do',
                  "    if [ -z \"${value_b64[$k]+set}\" ]; then log \"value $k missing on stdin\"; exit 1; fi",
                  "done",
                  `if [ "\${#value_b64[@]}" -ne ${values.length} ]; then log "unexpected values on stdin"; exit 1; fi`,
                  "",
                  "# fill_values FILE: replaces each @@value:NAME@@ and @@secret:NAME@@ with its value",
                  "fill_values() {",
                  "    local file=$1 content k v",
                  "    content=$(cat \"$file\"; printf x); content=${content%x}",
                  "    for k in \"${!value_b64[@]}\"; do",
                  "        v=$(printf '%s' \"${value_b64[$k]}\" | base64 -d; printf x); v=${v%x}",
                  "        content=${content//\"@@value:$k@@\"/\"$v\"}",
                  "        content=${content//\"@@secret:$k@@\"/\"$v\"}",
                  "    done",
                  "    printf '%s' \"$content\" > \"$file\"",
                  "}",
                  "",
              ]
            : []),
        "# install_file PATH MODE OWNER [fill]: content (base64) on stdin; `fill` fills in the step's values",
        "install_file() {",
        values.length ? "    local path=$1 mode=$2 owner=$3 fill=${4:-} tmp" : "    local path=$1 mode=$2 owner=$3 tmp",
        "    mkdir -p \"$(dirname \"$path\")\"",
        "    tmp=$(mktemp \"$(dirname \"$path\")/.pulumi-new.XXXXXX\")",
        "    base64 -d > \"$tmp\"",
        ...(values.length ? ["    if [ \"$fill\" = fill ]; then fill_values \"$tmp\"; fi"] : []),
        "    chmod \"$mode\" \"$tmp\"",
        "    chown \"$owner\" \"$tmp\"",
        "    if [ -e \"$path\" ] && cmp -s \"$tmp\" \"$path\" \\",
        "        && [ \"$(stat -c '%a %U:%G' \"$path\")\" = \"$(stat -c '%a %U:%G' \"$tmp\")\" ]; then",
        "        rm -f \"$tmp\"",
        "        log \"unchanged $path\"",
        "        return 0",
        "    fi",
        "    if [ -e \"$path\" ]; then",
        "        cp -p \"$path\" \"$path.pulumi-bak\"",
        "        backups+=(\"$path\")",
        "    else",
        "        created+=(\"$path\")",
        "    fi",
        "    mv -f \"$tmp\" \"$path\"",
        "    changed+=(\"$path\")",
        "    log \"changed $path\"",
        "}",
        "",
        "rollback() {",
        "    local p",
        "    for p in \"${backups[@]+\"${backups[@]}\"}\"; do mv -f \"$p.pulumi-bak\" \"$p\"; log \"restored $p\"; done",
        "    for p in \"${created[@]+\"${created[@]}\"}\"; do rm -f \"$p\"; log \"removed $p\"; done",
        "}",
        "",
        ...section("prepare", spec.prepare),
        "# files",
        ...spec.files.map(installFileLines),
        "",
        "# validate: on failure, put the previous files back",
        "validate() {",
        ...(spec.validate?.length ? spec.validate.map((c) => `    ${c} || return 1`) : ["    true"]),
        "}",
        "# Unchanged files were validated when they were written; a rerun with nothing new skips the checks.",
        "if [ \"${#changed[@]}\" -gt 0 ] && ! validate; then",
        "    log \"validation failed; keeping the previous configuration\"",
        "    rollback",
        "    exit 1",
        "fi",
        "for p in \"${backups[@]+\"${backups[@]}\"}\"; do rm -f \"$p.pulumi-bak\"; done",
        "",
        "if [ \"${#changed[@]}\" -gt 0 ]; then",
        ...(spec.activate?.length ? spec.activate.map((c) => `    ${c}`) : ["    :"]),
        "fi",
        "",
        ...section("ensure", spec.ensure),
        "if [ \"${#changed[@]}\" -gt 0 ]; then log \"result: changed\"; else log \"result: unchanged\"; fi",
        "",
    ];
    return lines.join("\n");
}

/** One file's lines in an apply script: `install_file` fed its content as base64 in a here-document. */
function installFileLines(f: ManagedFile): string {
    return [
        `install_file ${shq(f.path)} ${f.mode ?? "0644"} ${f.owner ?? "root:root"}${placeholders(f.content).length ? " fill" : ""} <<'PULUMI_B64'`,
        ...(Buffer.from(f.content, "utf8").toString("base64").match(/.{1,76}/g) ?? [""]),
        "PULUMI_B64",
    ].join("\n");
}

const INSTALL_FILE = /^install_file '((?:[^']|'\\'')*)' ([0-7]+) (\S+)(?: fill)? <<'PULUMI_B64'\n([\s\S]*?)\nPULUMI_B64$/gm;

const fileOf = (m: RegExpMatchArray): ManagedFile => ({ path: m[1].replace(/'\\''/g, "'"), mode: m[2], owner: m[3], content: Buffer.from(m[4].replace(/\n/g, ""), "base64").toString("utf8") });

/** The files an apply script writes, read back from its text (for policies that judge what reaches a host). */
export function parseApplyScript(script: string): ManagedFile[] {
    return [...script.matchAll(INSTALL_FILE)].map(fileOf);
}

/**
 * The apply script with each file it writes replaced by what `replace` returns for it (undefined: the file's lines
 * are dropped); everything else in the script stays as it is.
 */
export function replaceApplyScriptFiles(script: string, replace: (f: ManagedFile) => ManagedFile | undefined): string {
    return script.replace(INSTALL_FILE, (...m) => {
        const f = replace(fileOf(m as unknown as RegExpMatchArray));
        return f ? installFileLines(f) : "";
    });
}
