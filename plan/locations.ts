/**
 * Where a finding points in the repository, for reports a reviewer can click: the stack file's line of the config
 * key the finding names (or the key's declaration in Pulumi.yaml when the stack keeps the default), otherwise the
 * component that owns the resource (its class in components/), and always the resource and, for host files, the
 * file on the host as logical locations.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import type { Finding } from "./evaluate";
import type { RecordedResource } from "./run";

export type FindingLocation = {
    /** Repository-relative file and 1-based line. */
    file: string;
    line: number;
    logical: { name: string; fullyQualifiedName?: string; kind: string }[];
};

const lineOf = (text: string, re: RegExp) => {
    const i = text.split("\n").findIndex((l) => re.test(l));
    return i < 0 ? undefined : i + 1;
};

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The config key a message names (`webapp:backupRetentionDailyDays`, `hcloud:token`), if any. */
export const configKeyIn = (message: string) => /\b((?:webapp|hcloud|aws):[A-Za-z][A-Za-z0-9]*)(?![A-Za-z0-9/:])/.exec(message)?.[1];

/** The host file a message is about: messages about host files start with its absolute path. */
export const hostFileIn = (message: string) => /^(\/[^\s:()]+)/.exec(message)?.[1];

export function locator(o: { root: string; stack: string; resources: readonly RecordedResource[] }): (f: Finding) => FindingLocation {
    const read = (file: string) => (fs.existsSync(path.join(o.root, file)) ? fs.readFileSync(path.join(o.root, file), "utf8") : "");
    const stackFile = `Pulumi.${o.stack}.yaml`;
    const stackText = read(stackFile);
    const projectText = read("Pulumi.yaml");
    const byUrn = new Map(o.resources.map((r) => [r.urn, r]));
    return (f) => {
        const logical: FindingLocation["logical"] = [];
        if (f.resource) logical.push({ name: f.resource.name, fullyQualifiedName: f.urn, kind: "resource" });
        const hostFile = hostFileIn(f.message);
        if (hostFile) logical.push({ name: hostFile, kind: "hostFile" });
        const key = configKeyIn(f.message);
        if (key) {
            const inStack = lineOf(stackText, new RegExp(`^\\s*${escape(key)}:`));
            if (inStack) return { file: stackFile, line: inStack, logical };
            const declared = key.startsWith("webapp:") ? lineOf(projectText, new RegExp(`^  ${escape(key.slice("webapp:".length))}:`)) : undefined;
            if (declared) return { file: "Pulumi.yaml", line: declared, logical };
        }
        // The component that owns the resource: its class.
        for (let r = f.urn ? byUrn.get(f.urn) : undefined; r; r = r.parent ? byUrn.get(r.parent) : undefined) {
            const m = /^webapp:[a-z]+:([A-Za-z]+)$/.exec(r.type);
            if (!m) continue;
            const file = `components/${m[1].replace(/([a-z])([A-Z])/g, "$1-$2").toLowerCase()}.ts`;
            const line = lineOf(read(file), new RegExp(`^export class ${m[1]}\\b`));
            if (line) return { file, line, logical };
        }
        return { file: "index.ts", line: 1, logical };
    };
}

/** A fingerprint that stays the same across runs for the same problem, so code scanning keeps one alert for it. */
export function fingerprint(f: Finding): string {
    return createHash("sha256").update(`${f.policy}|${f.resource?.type ?? ""}|${f.resource?.name ?? "stack"}|${f.message}`).digest("hex").slice(0, 32);
}
