/**
 * Readers for the configuration files the remote steps ship, so policies judge what actually reaches the host:
 * the apply scripts' files, cloud-init user data, sshd, nginx, systemd units, INI-style files, sysctl,
 * PostgreSQL settings and pg_hba. Pure; tolerant of comments and blank lines, strict about meaning.
 */
import { parse as parseYaml } from "yaml";
import { ManagedFile, parseApplyScript } from "../lib/render/apply-script";

/** A resource as policies see it (engine-shaped: secrets unwrapped). */
export type ResourceLike = { type: string; name: string; urn: string; props: Record<string, any> };

export type HostFile = ManagedFile & { from: ResourceLike; script: string };

/** Parsed files per resource properties object: every stack policy reads the same scripts, parse them once. */
const parsed = new WeakMap<object, ManagedFile[]>();

function filesOf(r: ResourceLike): ManagedFile[] {
    const cached = parsed.get(r.props);
    if (cached) return cached;
    let files: ManagedFile[] = [];
    if (r.type === "command:remote:Command" && typeof r.props.stdin === "string") files = parseApplyScript(r.props.stdin);
    const userData = r.props.userData;
    if ((r.type === "hcloud:index/server:Server" || r.type === "aws:ec2/instance:Instance") && typeof userData === "string" && userData.startsWith("#cloud-config")) {
        const doc = parseYaml(userData) ?? {};
        files = ((doc.write_files ?? []) as { path: string; content?: string; permissions?: string; owner?: string }[]).map((f) => ({ path: f.path, content: f.content ?? "", mode: f.permissions, owner: f.owner }));
    }
    parsed.set(r.props, files);
    return files;
}

/** Every file written by a remote step (from its stdin script) or by cloud-init user data (write_files). */
export function hostFiles(resources: readonly ResourceLike[]): HostFile[] {
    return resources.flatMap((r) => filesOf(r).map((f) => ({ ...f, from: r, script: typeof r.props.stdin === "string" ? r.props.stdin : "" })));
}

/** The scripts the remote steps run, with the resource that carries each. */
export function hostScripts(resources: readonly ResourceLike[]): { script: string; from: ResourceLike }[] {
    return resources.filter((r) => r.type === "command:remote:Command" && typeof r.props.stdin === "string").map((r) => ({ script: r.props.stdin as string, from: r }));
}

const stripComment = (line: string) => line.replace(/(^|\s)#.*$/, "").trim();

/** sshd: keyword (lowercase) -> first value, as sshd itself takes the first one it reads. */
export function parseSshd(text: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const raw of text.split("\n")) {
        const line = stripComment(raw);
        if (!line) continue;
        const [key, ...rest] = line.split(/\s+/);
        if (!out.has(key.toLowerCase())) out.set(key.toLowerCase(), rest.join(" "));
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

/** The last value of a unit key (systemd's rule for single-valued settings). */
export const unitValue = (unit: Map<string, Map<string, string[]>>, section: string, key: string) => unit.get(section)?.get(key)?.slice(-1)[0];

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
            return f[0] === "local" ? { type: f[0], database: f[1], user: f[2], method: f[3] } : { type: f[0], database: f[1], user: f[2], address: f[3], method: f[4] };
        });
}

/** Duration in seconds from fail2ban/nginx style values (`600`, `10m`, `1h`, `1d`). */
export function seconds(value: string | undefined): number | undefined {
    if (value === undefined) return undefined;
    const m = /^(\d+)\s*([smhdw]?)$/.exec(value.trim());
    if (!m) return undefined;
    return Number(m[1]) * { "": 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[m[2] as "" | "s" | "m" | "h" | "d" | "w"];
}
