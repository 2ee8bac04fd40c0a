/**
 * Readers for the configuration files the remote steps ship, so policies judge what actually reaches the host:
 * the apply scripts' files, cloud-init user data, sshd, nginx, systemd units, INI-style files, sysctl,
 * PostgreSQL settings and pg_hba. Pure; tolerant of comments and blank lines, strict about meaning.
 */
import { UnknownValueError } from "@pulumi/policy";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { ManagedFile, parseApplyScript, scriptOfCommand } from "../lib/render/apply-script";

/** A resource as policies see it (engine-shaped: secrets unwrapped). */
export type ResourceLike = {
    type: string;
    name: string;
    urn: string;
    props: Record<string, any>;
    /** Per property, the URNs of the resources its value comes from (the engine's propertyDependencies). */
    deps?: Record<string, string[]>;
};

export type HostFile = ManagedFile & { from: ResourceLike; script: string };

/**
 * A property, or `undefined` with `known: false` while the engine does not know it yet (a preview before the
 * value exists). The analyzer's proxy throws on reading an unknown; policies that can judge without the value
 * use this instead of letting the whole policy be skipped.
 */
export function known<T = unknown>(read: () => T): { known: true; value: T } | { known: false } {
    try {
        return { known: true, value: read() };
    } catch (err) {
        if (err instanceof UnknownValueError) return { known: false };
        throw err;
    }
}

/**
 * A pure function of one text, computed once per distinct text in this process (at most `limit` kept). The pack
 * judges the same scripts and files with every stack policy; the engine hands each policy its own copy of the
 * resources but the same strings, so results are found by the text itself. Callers must not change what they get.
 */
export function perText<T>(fn: (text: string) => T, limit = 2048): (text: string) => T {
    const cache = new Map<string, T>();
    textCaches.push(cache);
    return (text: string) => {
        let value = cache.get(text);
        if (value === undefined && !cache.has(text)) {
            value = fn(text);
            if (cache.size >= limit) cache.clear();
            cache.set(text, value);
        }
        return value as T;
    };
}

const textCaches: Map<string, unknown>[] = [];

/** Empties every `perText` cache: the next evaluation meets its texts for the first time, as a new pack process does. */
export function forgetTexts(): void {
    for (const cache of textCaches) cache.clear();
}

/** A generated secret whose value is known (after its creation), with the resource that generated it. */
export type GeneratedSecret = { name: string; value: string };

/** The generated secrets the policies can see the values of: random passwords and IAM access key secrets. */
export function generatedSecrets(resources: readonly ResourceLike[]): GeneratedSecret[] {
    return resources.flatMap((r) => {
        const v = known(() => (r.type === "random:index/randomPassword:RandomPassword" ? r.props.result : r.type === "aws:iam/accessKey:AccessKey" ? r.props.secret : undefined));
        return v.known && typeof v.value === "string" && v.value.length >= 16 ? [{ name: r.name, value: v.value }] : [];
    });
}

/**
 * The spellings of a secret that still reveal it: as is, URL-encoded, and base64 (standard and URL alphabet) at
 * each of the three alignments it can have inside a longer encoded text (the characters that mix with
 * neighbouring bytes cut off).
 */
export const secretSpellings = perText((value: string): readonly string[] => {
    const out = new Set([value, encodeURIComponent(value)]);
    const bytes = Buffer.from(value, "utf8");
    for (const offset of [0, 1, 2]) {
        const b64 = Buffer.concat([Buffer.alloc(offset), bytes]).toString("base64").replace(/=+$/, "");
        const core = b64.slice([0, 2, 3][offset], -2);
        if (core.length >= 16) {
            out.add(core);
            out.add(core.replace(/\+/g, "-").replace(/\//g, "_"));
        }
    }
    return [...out];
});

/** The generated secret a text reveals in any spelling, if any. */
export const revealedSecret = (text: string, secrets: readonly GeneratedSecret[]) => secrets.find((s) => secretSpellings(s.value).some((v) => text.includes(v)));

/** Every known string inside a value, with the top-level property it sits under; unknown parts are skipped. */
export function knownStrings(props: Record<string, unknown>): { top: string; value: string }[] {
    const out: { top: string; value: string }[] = [];
    const walk = (read: () => unknown, top: string) => {
        const v = known(read);
        if (!v.known) return;
        const value = v.value;
        if (typeof value === "string") out.push({ top, value });
        else if (Array.isArray(value)) for (let i = 0; i < value.length; i++) walk(() => value[i], top);
        else if (value && typeof value === "object") for (const k of Object.keys(value)) walk(() => (value as Record<string, unknown>)[k], top);
    };
    for (const k of Object.keys(props)) walk(() => props[k], k);
    return out;
}

export const isRemoteStep = (r: ResourceLike) => r.type === "command:remote:Command";

/**
 * What a remote step runs, as far as the engine knows it now. A step of `stepCommand`'s form runs the script
 * inside its command and gets only values on stdin. Any other command is judged as a script itself, and so is
 * its stdin (`sudo bash -s` fed a script). `unknown` names what the engine cannot know yet, so what the step
 * does cannot be judged before it runs.
 */
export function stepScripts(r: ResourceLike): { scripts: string[]; unknown?: string } {
    const create = known(() => r.props.create);
    if (!create.known) return { scripts: [], unknown: "create" };
    const command = typeof create.value === "string" ? create.value : "";
    const inner = scriptOfCommand(command);
    if (inner !== undefined) return { scripts: [inner] };
    const stdin = known(() => r.props.stdin);
    if (!stdin.known) return { scripts: [command], unknown: "stdin" };
    return { scripts: [command, ...(typeof stdin.value === "string" && stdin.value ? [stdin.value] : [])] };
}

type Parsed = { files: readonly ManagedFile[]; scripts: readonly string[]; script: string };

/** The files an apply script writes, once per distinct script text. */
const scriptFiles = perText(parseApplyScript);

/** The files cloud-init user data writes (write_files), once per distinct user data. */
const userDataFiles = perText((userData: string): readonly ManagedFile[] => {
    const doc = parseYaml(userData) ?? {};
    return ((doc.write_files ?? []) as { path: string; content?: string; permissions?: string; owner?: string }[]).map((f) => ({ path: f.path, content: f.content ?? "", mode: f.permissions, owner: f.owner }));
});

/**
 * What a resource ships to a host, parsed: per properties object (the offline plan passes every policy the same
 * one) and, below that, per script and user data text (the engine deserializes every resource afresh for each
 * stack policy, with the same strings).
 */
const parsed = new WeakMap<object, Parsed>();

function parsedOf(r: ResourceLike): Parsed {
    const cached = parsed.get(r.props);
    if (cached) return cached;
    let out: Parsed = { files: [], scripts: [], script: "" };
    if (isRemoteStep(r)) {
        const { scripts } = stepScripts(r);
        out = { files: scripts.length === 1 ? scriptFiles(scripts[0]) : scripts.flatMap(scriptFiles), scripts, script: scripts.join("\n") };
    }
    if (r.type === "hcloud:index/server:Server" || r.type === "aws:ec2/instance:Instance") {
        const userData = known(() => r.props.userData);
        if (userData.known && typeof userData.value === "string" && userData.value.startsWith("#cloud-config")) out = { ...out, files: userDataFiles(userData.value) };
    }
    parsed.set(r.props, out);
    return out;
}

/** Every file written by a remote step (from its script) or by cloud-init user data (write_files). */
export function hostFiles(resources: readonly ResourceLike[]): HostFile[] {
    return memo(filesOf, resources, () =>
        resources.flatMap((r) => {
            const { files, script } = parsedOf(r);
            return files.map((f) => ({ ...f, from: r, script }));
        }),
    );
}

/**
 * The server a file belongs to: the index in its step's name (`host-1-fail2ban`, `proxy-1-nginx` → "1").
 * Undefined for steps of no numbered server (the database server's, the backups').
 */
export const hostIndex = (f: HostFile) => /-(\d+)(?:-|$)/.exec(f.from.name)?.[1];

/** The scripts the remote steps run (those the engine knows now), with the resource that carries each. */
export function hostScripts(resources: readonly ResourceLike[]): { script: string; from: ResourceLike }[] {
    return memo(scriptsOf, resources, () => resources.filter(isRemoteStep).flatMap((r) => parsedOf(r).scripts.map((script) => ({ script, from: r }))));
}

/** The commands of every step's script, comments stripped, one per line, in step order, with the step of each. */
export const hostCommandLines = (resources: readonly ResourceLike[]): { line: string; from: ResourceLike }[] =>
    memo(linesOf, resources, () => hostScripts(resources).flatMap(({ script, from }) => commandLinesOf(script).map((line) => ({ line, from }))));
const commandLinesOf = perText((script: string) => script.split("\n").map((l) => l.replace(/(^|\s)#.*$/, "").trim()).filter(Boolean));
const linesOf = new WeakMap<readonly ResourceLike[], { line: string; from: ResourceLike }[]>();

/**
 * Every policy of one evaluation reads the same resource list; what is derived from it is made once per list, so
 * the pack's cost grows with the stack's size, not with the size times the number of policies. Callers must not
 * change the arrays they get.
 */
export function memo<T>(cache: WeakMap<readonly ResourceLike[], T>, resources: readonly ResourceLike[], make: () => T): T {
    let value = cache.get(resources);
    if (value === undefined) {
        value = make();
        cache.set(resources, value);
    }
    return value;
}
const filesOf = new WeakMap<readonly ResourceLike[], HostFile[]>();
const scriptsOf = new WeakMap<readonly ResourceLike[], { script: string; from: ResourceLike }[]>();

/** Remote steps whose command or script the engine does not know yet, with the property that is unknown. */
export function unjudgedSteps(resources: readonly ResourceLike[]): { from: ResourceLike; unknown: string }[] {
    return resources.filter(isRemoteStep).flatMap((r) => {
        const { unknown } = stepScripts(r);
        return unknown ? [{ from: r, unknown }] : [];
    });
}

const stripComment = (line: string) => line.replace(/(^|\s)#.*$/, "").trim();

/**
 * Debian 12's own /etc/ssh/sshd_config, as far as it decides anything: the drop-ins first (their first value of a
 * keyword wins), then its few settings. A step that ships its own sshd_config replaces it.
 */
export const DEBIAN_SSHD_CONFIG = ["Include /etc/ssh/sshd_config.d/*.conf", "KbdInteractiveAuthentication no", "UsePAM yes", "X11Forwarding yes", "PrintMotd no", "AcceptEnv LANG LC_*", "Subsystem sftp /usr/lib/openssh/sftp-server"].join("\n");

/** One setting as sshd reads it, with the file that set it. */
export type SshdSetting = { value: string; file: HostFile | undefined };

/** sshd's effective configuration: the global settings (first value wins) and every Match block's own. */
export type EffectiveSshd = { global: Map<string, SshdSetting>; matches: { criteria: string; settings: Map<string, SshdSetting> }[]; lists: Map<string, SshdSetting[]> };

const END_OF_INCLUDE = "\u0000end-of-include";

/** Keywords sshd reads under another name (deprecated aliases). */
const SSHD_ALIASES: Record<string, string> = { challengeresponseauthentication: "kbdinteractiveauthentication" };

/**
 * The configuration sshd runs with, from the files a host gets: its sshd_config (Debian's unless a step ships one)
 * with each `Include` replaced by the matching drop-ins in lexical order, as sshd reads them. Outside Match blocks
 * the first value of a keyword wins; a Match block's settings apply to the connections it matches.
 */
export function effectiveSshd(files: readonly HostFile[]): EffectiveSshd {
    const main = files.find((f) => f.path === "/etc/ssh/sshd_config");
    const lines: { text: string; file: HostFile | undefined }[] = [];
    const expand = (text: string, file: HostFile | undefined, depth: number) => {
        for (const raw of text.split("\n")) {
            const line = stripComment(raw);
            if (!line) continue;
            const include = /^include\s+(.+)$/i.exec(line);
            if (include && depth < 4) {
                for (const pattern of include[1].split(/\s+/)) {
                    const glob = new RegExp(`^${(pattern.startsWith("/") ? pattern : `/etc/ssh/${pattern}`).replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]")}$`);
                    for (const f of files.filter((x) => glob.test(x.path)).sort((a, b) => (a.path < b.path ? -1 : 1))) {
                        expand(f.content, f, depth + 1);
                        // A Match block in an included file ends with that file (OpenSSH 9.2, as sshd -T shows).
                        lines.push({ text: END_OF_INCLUDE, file: f });
                    }
                }
                continue;
            }
            lines.push({ text: line, file });
        }
    };
    expand(main?.content ?? DEBIAN_SSHD_CONFIG, main, 0);
    const out: EffectiveSshd = { global: new Map(), matches: [], lists: new Map() };
    let block = out.global;
    for (const { text, file } of lines) {
        if (text === END_OF_INCLUDE) {
            block = out.global;
            continue;
        }
        const [word, ...rest] = text.split(/\s+/);
        const key = SSHD_ALIASES[word.toLowerCase()] ?? word.toLowerCase();
        if (key === "match") {
            const settings = new Map<string, SshdSetting>();
            out.matches.push({ criteria: rest.join(" "), settings });
            block = settings;
            continue;
        }
        if (!block.has(key)) block.set(key, { value: rest.join(" ").replace(/^=\s*/, ""), file });
        // Keywords that accumulate (HostKey, Port, ListenAddress, ...): every global line, in order.
        if (block === out.global) out.lists.set(key, [...(out.lists.get(key) ?? []), { value: rest.join(" ").replace(/^=\s*/, ""), file }]);
    }
    return out;
}

/** A directive of an nginx configuration, with its block if it has one. */
export type NginxDirective = { name: string; args: string[]; block?: NginxDirective[] };

export function parseNginx(text: string): NginxDirective[] {
    const tokens: string[] = [];
    const re = /#[^\n]*|"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([{};])|([^\s{};"'#]+)/g;
    for (const m of text.matchAll(re)) {
        if (m[0].startsWith("#")) continue;
        tokens.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
    }
    let i = 0;
    const block = (): NginxDirective[] => {
        const out: NginxDirective[] = [];
        while (i < tokens.length && tokens[i] !== "}") {
            const name = tokens[i++];
            const args: string[] = [];
            while (i < tokens.length && tokens[i] !== ";" && tokens[i] !== "{") args.push(tokens[i++]);
            if (tokens[i] === "{") {
                i++;
                out.push({ name, args, block: block() });
                i++; // "}"
            } else {
                i++; // ";"
                out.push({ name, args });
            }
        }
        return out;
    };
    return block();
}

/** All directives named `name` directly inside `within`. */
export const directives = (within: NginxDirective[] | undefined, name: string) => (within ?? []).filter((d) => d.name === name);
export const directive = (within: NginxDirective[] | undefined, name: string) => directives(within, name)[0];

/** systemd unit: section -> key -> values in order. */
export function parseUnit(text: string): Map<string, Map<string, string[]>> {
    const out = new Map<string, Map<string, string[]>>();
    let section = "";
    for (const raw of text.split("\n")) {
        const line = raw.trim();
        if (!line || line.startsWith("#") || line.startsWith(";")) continue;
        const sec = /^\[(.+)\]$/.exec(line);
        if (sec) {
            section = sec[1];
            if (!out.has(section)) out.set(section, new Map());
            continue;
        }
        const eq = line.indexOf("=");
        if (eq < 0) continue;
        const key = line.slice(0, eq).trim();
        const value = line.slice(eq + 1).trim();
        const s = out.get(section) ?? new Map<string, string[]>();
        out.set(section, s);
        s.set(key, [...(s.get(key) ?? []), value]);
    }
    return out;
}

export type Unit = Map<string, Map<string, string[]>>;

/**
 * A unit with its drop-ins applied, as systemd reads them (systemd.unit(5)): drop-ins in file-name order, each
 * key's values appended, and an empty assignment (`ExecStart=`, `Environment=`) resetting the values before it (it stays, as the empty
 * value, for settings where empty has a meaning of its own, such as `CapabilityBoundingSet=`).
 */
export function mergeUnit(main: Unit, dropIns: readonly Unit[]): Unit {
    const out: Unit = new Map();
    for (const unit of [main, ...dropIns]) {
        for (const [section, keys] of unit) {
            const target = out.get(section) ?? new Map<string, string[]>();
            out.set(section, target);
            for (const [key, values] of keys) {
                let list = target.get(key) ?? [];
                for (const v of values) list = v === "" ? [""] : [...list.filter((x) => x !== ""), v];
                target.set(key, list);
            }
        }
    }
    return out;
}

/** Words of a unit value, with systemd's double and single quotes (systemd.syntax(7)). */
export function unitWords(value: string): string[] {
    return [...value.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)].map((m) => (m[1] ?? m[2] ?? m[3]).replace(/\\(.)/g, "$1"));
}

/** The environment a unit's service gets from Environment= lines: each assignment in order, the last one wins. */
export function unitEnvironment(unit: Unit): Map<string, string> {
    const env = new Map<string, string>();
    for (const value of unit.get("Service")?.get("Environment") ?? []) {
        for (const word of unitWords(value)) {
            const eq = word.indexOf("=");
            if (eq > 0) env.set(word.slice(0, eq), word.slice(eq + 1));
        }
    }
    return env;
}

/** The command line a service starts (the last ExecStart= after resets), as words, without systemd's prefixes. */
export function unitCommand(unit: Unit): string[] {
    const value = unit.get("Service")?.get("ExecStart")?.slice(-1)[0];
    return value ? unitWords(value.replace(/^[-@+!:]+/, "")) : [];
}

/**
 * The long-running services the steps ship (units in /etc/systemd/system that are not oneshot jobs and start at
 * boot), each with its drop-ins applied: `<name>.service.d/*.conf` and the `service.d/*.conf` every service reads.
 */
export function serviceUnits(resources: readonly ResourceLike[]): { f: HostFile; unit: Unit; dropIns: HostFile[] }[] {
    const files = hostFiles(resources);
    return files
        .filter((f) => /^\/etc\/systemd\/system\/[^@/]+\.service$/.test(f.path))
        .map((f) => {
            const dropIns = files
                .filter((d) => d.path.endsWith(".conf") && (d.path.startsWith(`${f.path}.d/`) || d.path.startsWith("/etc/systemd/system/service.d/")))
                .sort((a, b) => path.basename(a.path).localeCompare(path.basename(b.path)));
            return { f, unit: mergeUnit(parseUnit(f.content), dropIns.map((d) => parseUnit(d.content))), dropIns };
        })
        .filter(({ unit }) => unitValue(unit, "Service", "Type") !== "oneshot" && (unit.get("Install")?.get("WantedBy") ?? []).some((w) => w.split(/\s+/).includes("multi-user.target")));
}

/** The last value of a unit key (systemd's rule for single-valued settings). */
export const unitValue = (unit: Unit, section: string, key: string) => unit.get(section)?.get(key)?.slice(-1)[0];

/** INI (fail2ban): section -> key -> value, continuation lines joined with newlines. */
export function parseIni(text: string): Map<string, Map<string, string>> {
    const out = new Map<string, Map<string, string>>();
    let section = "";
    let lastKey = "";
    for (const raw of text.split("\n")) {
        if (/^\s*[#;]/.test(raw) || !raw.trim()) continue;
        const sec = /^\[(.+)\]\s*$/.exec(raw.trim());
        if (sec) {
            section = sec[1];
            out.set(section, out.get(section) ?? new Map());
            continue;
        }
        const s = out.get(section) ?? new Map<string, string>();
        out.set(section, s);
        if (/^\s/.test(raw) && lastKey) {
            s.set(lastKey, `${s.get(lastKey)}\n${raw.trim()}`);
            continue;
        }
        const m = /^([^=]+?)\s*=\s*(.*)$/.exec(raw.trim());
        if (m) {
            lastKey = m[1];
            s.set(m[1], m[2]);
        }
    }
    return out;
}

/** `key = value` files (sysctl.d, postgresql.conf): last value wins; quotes removed. */
export function parseKeyValues(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const raw of text.split("\n")) {
        const line = stripComment(raw);
        const m = /^([A-Za-z0-9_.]+)\s*=\s*(.*)$/.exec(line);
        if (m) out.set(m[1], m[2].replace(/^'(.*)'$/, "$1").trim());
    }
    return out;
}

export type HbaRule = { type: string; database: string; user: string; address?: string; method: string };

export function parseHba(text: string): HbaRule[] {
    return text
        .split("\n")
        .map(stripComment)
        .filter(Boolean)
        .map((line) => {
            const f = line.split(/\s+/);
            if (f[0] === "local") return { type: f[0], database: f[1], user: f[2], method: f[3] };
            // An address may be written as address and mask in two fields (`0.0.0.0 0.0.0.0`).
            const mask = /^[\d.]+$|^[0-9a-f:]+$/i.test(f[4] ?? "") && f[4].includes(f[3].includes(":") ? ":" : ".");
            return mask ? { type: f[0], database: f[1], user: f[2], address: `${f[3]} ${f[4]}`, method: f[5] } : { type: f[0], database: f[1], user: f[2], address: f[3], method: f[4] };
        });
}

/** Duration in seconds from fail2ban/nginx style values (`600`, `10m`, `1h`, `1d`). */
export function seconds(value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    const m = /^(\d+)\s*([smhdw]?)$/.exec(value.trim());
    if (!m) return undefined;
    return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
}

/** The statements of an IAM or bucket policy document (a JSON string or an object; one statement or a list). */
export function policyStatements(doc: unknown): Record<string, any>[] {
    let parsed: unknown = doc;
    if (typeof doc === "string") {
        try {
            parsed = JSON.parse(doc);
        } catch {
            return [];
        }
    }
    const s = (parsed as { Statement?: unknown } | undefined)?.Statement;
    return Array.isArray(s) ? s : s ? [s as Record<string, any>] : [];
}

/** An IAM field that may be one value or a list, as a list. */
export const asList = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined || v === null ? [] : [String(v)]);

/** Whether an IAM pattern (`*` and `?` wildcards, matched case-insensitively) matches a value. */
export const iamPatternMatches = (pattern: string, value: string) => new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".")}$`, "i").test(value);

/**
 * The stock jail files of Debian 12's fail2ban that the checklist depends on: jail.conf's defaults and its [sshd]
 * port, and defaults-debian.conf, which enables [sshd]. A step that ships one of these paths replaces it.
 */
export const DEBIAN_FAIL2BAN: Readonly<Record<string, string>> = {
    "/etc/fail2ban/jail.conf": "[DEFAULT]\nenabled = false\nmaxretry = 5\nfindtime = 10m\nbantime = 10m\nport = 0:65535\nbanaction = iptables-multiport\n\n[sshd]\nport = ssh\n",
    "/etc/fail2ban/jail.d/defaults-debian.conf": "[sshd]\nenabled = true\n",
};

export type Fail2banSetting = { value: string; file?: HostFile };

/**
 * Each jail's settings as fail2ban reads them: jail.conf, jail.d/*.conf, jail.local, then jail.d/*.local (each
 * group in lexical order), a later file overriding a key of the same section, and a jail's own key before the
 * [DEFAULT] section's, wherever each was set. `filter` defaults to the jail's name. Stock files not shipped by a
 * step are Debian's (DEBIAN_FAIL2BAN); `file` is undefined for their values.
 */
export function fail2banJails(files: readonly HostFile[]): Map<string, Map<string, Fail2banSetting>> {
    const rank = (p: string) => (p === "/etc/fail2ban/jail.conf" ? 0 : /^\/etc\/fail2ban\/jail\.d\/[^/]+\.conf$/.test(p) ? 1 : p === "/etc/fail2ban/jail.local" ? 2 : /^\/etc\/fail2ban\/jail\.d\/[^/]+\.local$/.test(p) ? 3 : -1);
    const shipped = files.filter((f) => rank(f.path) >= 0);
    const stock = Object.entries(DEBIAN_FAIL2BAN).filter(([p]) => !shipped.some((f) => f.path === p)).map(([path, content]) => ({ path, content, file: undefined as HostFile | undefined }));
    const ordered = [...stock, ...shipped.map((f) => ({ path: f.path, content: f.content, file: f as HostFile | undefined }))].sort((a, b) => rank(a.path) - rank(b.path) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const sections = new Map<string, Map<string, Fail2banSetting>>();
    for (const { content, file } of ordered) {
        for (const [section, keys] of parseIni(content)) {
            const target = sections.get(section) ?? new Map<string, Fail2banSetting>();
            sections.set(section, target);
            for (const [key, value] of keys) target.set(key.toLowerCase(), { value, file });
        }
    }
    const defaults = sections.get("DEFAULT") ?? new Map<string, Fail2banSetting>();
    const jails = new Map<string, Map<string, Fail2banSetting>>();
    for (const [name, own] of sections) {
        if (name === "DEFAULT" || name === "INCLUDES") continue;
        jails.set(name, new Map([["filter", { value: name }], ...defaults, ...own]));
    }
    return jails;
}

/** fail2ban's booleans (Python configparser's spellings). */
export const fail2banTrue = (v: string | undefined) => /^(1|yes|true|on)$/i.test((v ?? "").trim());

/**
 * A fail2ban time in seconds: plain seconds, or numbers with units in any combination (`1h`, `10m`, `1d 12h`,
 * `30 minutes`); a negative value (`-1`) is a permanent ban and counts as Infinity. Undefined when unreadable.
 */
export function fail2banSeconds(value: string | undefined): number | undefined {
    const v = (value ?? "").trim().toLowerCase();
    if (/^-\d+$/.test(v)) return Infinity;
    if (!/^(\d+(\.\d+)?\s*[a-z]*\s*)+$/.test(v)) return undefined;
    const unit: [RegExp, number][] = [[/^(y|years?)$/, 365 * 86400], [/^(mo|months?)$/, 2592000], [/^(w|weeks?)$/, 604800], [/^(d|days?)$/, 86400], [/^(h|hours?)$/, 3600], [/^(m|mi|mins?|minutes?)$/, 60], [/^(|s|secs?|seconds?)$/, 1]];
    let total = 0;
    for (const [, n, u] of v.matchAll(/(\d+(?:\.\d+)?)\s*([a-z]*)/g)) {
        const factor = unit.find(([re]) => re.test(u))?.[1];
        if (factor === undefined) return undefined;
        total += Number(n) * factor;
    }
    return total;
}

export type AptSetting = { value: string; file: HostFile };

/** Names APT skips in apt.conf.d (Dir::Ignore-Files-Silently), and names with characters it does not read. */
const APT_IGNORED = /~$|\.disabled$|\.bak$|\.dpkg-[a-z]+$|\.ucf-[a-z]+$|\.save$|\.orig$|\.distUpgrade$/;

/**
 * APT's configuration from the files a host gets, read as apt-config does: /etc/apt/apt.conf.d/* in lexical order
 * (skipping the names APT ignores), then /etc/apt/apt.conf; `A::B "v";` and nested `A { B "v"; };` alike, keys
 * case-insensitive, a later value replacing an earlier one, `#clear A::B;` dropping a subtree. List entries
 * (`A { "x"; "y"; };`) collect under the key, lowercased, in `lists`.
 */
export function aptConfig(files: readonly HostFile[]): { values: Map<string, AptSetting>; lists: Map<string, { items: string[]; file: HostFile }> } {
    const parts = files
        .filter((f) => /^\/etc\/apt\/apt\.conf\.d\/[A-Za-z0-9_.-]+$/.test(f.path) && !APT_IGNORED.test(f.path))
        .sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
    const ordered = [...parts, ...files.filter((f) => f.path === "/etc/apt/apt.conf")];
    const values = new Map<string, AptSetting>();
    const lists = new Map<string, { items: string[]; file: HostFile }>();
    for (const file of ordered) {
        const stack: string[] = [];
        let name: string | undefined;
        const full = (n: string) => [...stack, n].join("::").toLowerCase();
        for (const m of file.content.matchAll(/\/\/[^\n]*|\/\*[\s\S]*?\*\/|#clear\s+([^;]+);|#[^\n]*|"([^"]*)"|([{};])|([^\s{};"]+)/g)) {
            if (m[1] !== undefined) {
                const prefix = full(m[1].trim());
                for (const k of [...values.keys(), ...lists.keys()]) if (k === prefix || k.startsWith(`${prefix}::`)) (values.delete(k), lists.delete(k));
            } else if (m[3] === "{") {
                stack.push(...(name ?? "").split("::").filter(Boolean));
                name = undefined;
            } else if (m[3] === "}") {
                stack.pop();
                name = undefined;
            } else if (m[3] === ";") {
                // A name with no value before the `;` is an entry of the enclosing list.
                if (name !== undefined) {
                    const key = stack.join("::").toLowerCase();
                    lists.set(key, { items: [...(lists.get(key)?.items ?? []), name], file });
                }
                name = undefined;
            } else if (m[2] !== undefined || m[4] !== undefined) {
                const token = m[2] ?? m[4];
                if (token.startsWith("#")) continue;
                if (name === undefined) name = token;
                else {
                    values.set(full(name), { value: token, file });
                    name = undefined;
                }
            }
        }
    }
    return { values, lists };
}

export type SysctlSetting = { value: string; file: HostFile };

/**
 * The sysctl files of a Debian 12 host that no step ships, as far as they set anything: procps' link to
 * /etc/sysctl.conf (comments only) is left out; procps' protect-links and systemd's pid_max are in. They count
 * for the value a key ends up with; a finding about one names the step that should override it.
 */
export const DEBIAN_SYSCTL: readonly HostFile[] = [
    { path: "/usr/lib/sysctl.d/50-pid-max.conf", content: "kernel.pid_max = 4194304\n" },
    { path: "/usr/lib/sysctl.d/99-protect-links.conf", content: "fs.protected_fifos = 1\nfs.protected_hardlinks = 1\nfs.protected_regular = 2\nfs.protected_symlinks = 1\n" },
].map((f) => ({ ...f, mode: "0644", owner: "root:root", script: "", from: { type: "debian:stock", name: "Debian's stock files", urn: "", props: {} } }) as unknown as HostFile);

/**
 * The value systemd-sysctl leaves for a key, from the files a host gets: every sysctl.d file (/etc, /run,
 * /usr/local/lib, /usr/lib, /lib; a name in /etc hides the same name further down) and /etc/sysctl.conf (read as
 * 99-sysctl.conf, Debian's link to it), in lexical order of their names, the last assignment winning. Keys may
 * use `/` for `.` and carry a `-` prefix (ignore errors). A glob (`net.ipv4.conf.*.rp_filter`) sets only keys that
 * no file assigns explicitly and no `-key` line excludes (sysctl.d(5)).
 */
export function sysctlValue(shippedFiles: readonly HostFile[], key: string): SysctlSetting | undefined {
    const files = [...shippedFiles, ...DEBIAN_SYSCTL.filter((s) => !shippedFiles.some((f) => f.path === s.path))];
    const dirs = ["/etc/sysctl.d/", "/run/sysctl.d/", "/usr/local/lib/sysctl.d/", "/usr/lib/sysctl.d/", "/lib/sysctl.d/"];
    const named = new Map<string, HostFile>();
    for (const dir of [...dirs].reverse()) for (const f of files.filter((x) => x.path.startsWith(dir) && x.path.endsWith(".conf") && !x.path.slice(dir.length).includes("/"))) named.set(f.path.slice(dir.length), f);
    const main = files.find((f) => f.path === "/etc/sysctl.conf");
    if (main && !named.has("99-sysctl.conf")) named.set("99-sysctl.conf", main);
    let explicit: SysctlSetting | undefined;
    let globbed: SysctlSetting | undefined;
    let excluded = false;
    for (const name of [...named.keys()].sort()) {
        for (const raw of named.get(name)!.content.split("\n")) {
            const line = raw.trim();
            if (!line || line.startsWith("#") || line.startsWith(";")) continue;
            const eq = line.indexOf("=");
            let k = (eq < 0 ? line : line.slice(0, eq)).trim();
            const dash = k.startsWith("-");
            k = k.replace(/^-/, "");
            // With `/` as the first separator, slashes separate and dots are part of a name.
            if (/^[^.]*\//.test(k)) k = k.replace(/\./g, "\u0000").replace(/\//g, ".").replace(/\u0000/g, "/");
            const isGlob = /[*?[]/.test(k);
            const matches = isGlob ? new RegExp(`^${k.replace(/[.+^${}()|\]\\]/g, "\\$&").replace(/\*/g, "[^.]*").replace(/\?/g, "[^.]")}$`).test(key) : k === key;
            if (!matches) continue;
            if (eq < 0) {
                if (dash && !isGlob) excluded = true;
                continue;
            }
            const setting = { value: line.slice(eq + 1).trim(), file: named.get(name)! };
            if (isGlob) globbed = setting;
            else explicit = setting;
        }
    }
    return explicit ?? (excluded ? undefined : globbed);
}

/** systemd's booleans (systemd.syntax(7)): 1, yes, y, true, t, on. */
export const systemdTrue = (v: string | undefined) => /^(1|yes|y|true|t|on)$/i.test((v ?? "").trim());

/**
 * A systemd time span in seconds (systemd.time(7)): numbers with units in any combination (`5s`, `1min 30s`,
 * `500ms`, `2h`), a bare number in seconds. Undefined when unreadable; `infinity` is Infinity.
 */
export function systemdSeconds(value: string | undefined): number | undefined {
    const v = (value ?? "").trim();
    if (v === "infinity") return Infinity;
    if (!/^(\d+(\.\d+)?\s*[a-zµ]*\s*)+$/i.test(v)) return undefined;
    const units: [RegExp, number][] = [[/^(us|usec|µs)$/, 1e-6], [/^(ms|msec)$/, 1e-3], [/^(|s|sec|second|seconds)$/, 1], [/^(m|min|minute|minutes)$/, 60], [/^(h|hr|hour|hours)$/, 3600], [/^(d|day|days)$/, 86400], [/^(w|week|weeks)$/, 604800], [/^(M|month|months)$/, 2629800], [/^(y|year|years)$/, 31557600]];
    let total = 0;
    for (const [, n, u] of v.matchAll(/(\d+(?:\.\d+)?)\s*([a-zµ]*)/gi)) {
        const factor = units.find(([re]) => re.test(u))?.[1];
        if (factor === undefined) return undefined;
        total += Number(n) * factor;
    }
    return total;
}
