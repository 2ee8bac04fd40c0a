/**
 * `npm run verify`'s work: reach every host of a deployed stack the way its remote steps do (SSH as the admin
 * user, the steps' key), run the read-only probe, and judge what it read: host drift (managed files, wanted units),
 * the live controls inside, and what the policy pack finds on the host as it is; try which of its ports answer the
 * runner; then check the site from outside. Each finding carries its repair, the engine's own: `pulumi up
 * --replace <urn>` of the step that writes what drifted, or a command where no step's rerun helps.
 */
import { spawn, spawnSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { shq } from "../lib/render/apply-script";
import { UFW_RULES_PATH } from "../lib/render/ufw";
import type { Policy } from "@pulumi/policy";
import type { Finding } from "../plan/evaluate";
import type { PackConfig } from "../policies/pack-config";
import { CHECKLIST, ChecklistId, Environment, levelFor } from "../policies/checklist";
import { DeployedHost, deployedHosts, DeployedStep, wantedContent } from "./deployment";
import { FileDrift, fileDrift } from "./drift";
import { LiveFinding, liveFindings, openToAnyone } from "./live";
import { parseProbe, ProbeResult, renderProbe } from "./probe";
import { openPorts, portFindings, probeSite, SCANNED_PORTS, SiteTarget, siteFindings } from "./outside";
import { deployedRun, onUnmanagedFiles, packOnHosts, ProbedHost } from "./pack";

export type UnitDrift = { unit: string; step: DeployedStep; enabled: string; active: string };

export type HostReport = {
    host: DeployedHost;
    /** Why the host could not be probed (SSH refused, timed out): not drift. */
    unreachable?: string;
    /** Milliseconds the probe ran on the host, without the SSH connection. */
    probeMs?: number;
    /** Milliseconds each of the probe's sections took (the files before the first are not a section). */
    sectionMs?: Record<string, number>;
    files: FileDrift[];
    units: UnitDrift[];
    live: LiveFinding[];
    /** The pack's findings on the host as it is that it does not make on the intent (verify/pack.ts). */
    pack: Finding[];
    /** The app unit's exposure (systemd-analyze security), for the report. */
    exposure?: string;
};

export type VerifyOptions = {
    stack: string;
    environment: Environment;
    appName: string;
    /** Where to check the site from outside; false: skip it. */
    site: SiteTarget | false;
    /** Try each host's ports from the runner (verify/outside.ts `SCANNED_PORTS`); default true. */
    scanPorts?: boolean;
    /** Check the site's certificate chain (Let's Encrypt); false for self-signed deployments. */
    verifyCertificate: boolean;
    /** The policy pack and its config for the stack, to judge the hosts as they are; undefined: not run. */
    pack?: { project: string; policies: readonly Policy[]; config: PackConfig };
    /**
     * The known_hosts file each host's SSH key is checked against (`sshRunner`): a host it lists must present that
     * key, or it is unreachable; one it does not list is added on first contact and held to that key afterwards.
     * Default: ssh's own (`~/.ssh/known_hosts`).
     */
    knownHosts?: string;
    /** Runs a script as root on a host; the default is SSH (`sshRunner`). */
    run?: (host: DeployedHost, script: string) => Promise<{ status: number; stdout: string; stderr: string }>;
};

export type VerifyResult = {
    hosts: HostReport[];
    /** The pack's findings on the hosts as they are on a resource of no probed host's steps. */
    pack: Finding[];
    site: LiveFinding[];
    siteError?: string;
};

/** The probe of one host: every file and unit its steps want, and the sections its roles need. */
export function probeFor(host: DeployedHost, appName: string): string {
    const writes = (p: string) => host.steps.some((s) => s.files.some((f) => f.path === p));
    return renderProbe({
        files: [...new Set(host.steps.flatMap((s) => s.files.map((f) => f.path)))],
        // The units the steps keep running (a timer is judged by its own state, not by the unit it starts).
        units: [...new Set(host.steps.flatMap((s) => s.units))],
        appName,
        backupRoot: writes(`/etc/systemd/system/${appName}-backup-daily.timer`) ? `/var/backups/${appName}` : undefined,
        certificate: host.steps.some((s) => s.name.endsWith("-nginx")) ? `/etc/${appName}/tls/fullchain.pem` : undefined,
    });
}

/** A unit's name as systemctl's Id prints it: `fail2ban` is `fail2ban.service`. */
export const unitId = (unit: string) => (/\.(service|timer|socket|target|path|mount|slice|scope)$/.test(unit) ? unit : `${unit}.service`);

/** Judges one host's probe. */
export function judgeHost(host: DeployedHost, probe: ProbeResult, appName: string): Omit<HostReport, "host" | "probeMs" | "pack"> {
    const files: FileDrift[] = [];
    for (const step of host.steps) {
        for (const file of step.files) {
            const live = probe.files.get(file.path);
            const drift = fileDrift(step, file, live && live.exists ? { path: file.path, ...live } : { path: file.path, exists: false });
            if (drift) files.push(drift);
        }
    }
    const units: UnitDrift[] = [];
    for (const step of host.steps) {
        for (const unit of step.units) {
            const u = probe.units.get(unitId(unit));
            if (!u || u.enabled !== "enabled" || u.active !== "active") units.push({ unit, step, enabled: u?.enabled ?? "unknown", active: u?.active ?? "unknown" });
        }
    }
    const ufwStep = host.steps.find((s) => s.files.some((f) => f.path === UFW_RULES_PATH));
    const ufwFile = ufwStep?.files.find((f) => f.path === UFW_RULES_PATH);
    const wantedOpen = ufwStep && ufwFile ? openToAnyone(wantedContent(ufwStep, ufwFile)) : [];
    return { files, units, live: liveFindings(host, probe, { appName, wantedOpen }), exposure: probe.sections.get("exposure")?.trim() || undefined };
}

/**
 * Runs a script as root over SSH, as the steps do: the admin user, sudo, the steps' key in a private agent. Host
 * keys are checked against `knownHosts` (default ssh's own file): a changed key makes the host unreachable, an
 * unknown one is trusted on first contact and recorded (ssh's `accept-new`).
 */
export function sshRunner(knownHosts?: string): { run: NonNullable<VerifyOptions["run"]>; close: () => void } {
    const agents = new Map<string, { sock: string; pid: string }>();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "verify-ssh-"));
    const agentFor = (key: string) => {
        const known = agents.get(key);
        if (known) return known;
        const sock = path.join(dir, `agent-${agents.size}`);
        const started = spawnSync("ssh-agent", ["-a", sock, "-s"], { encoding: "utf8" });
        const pid = /SSH_AGENT_PID=(\d+)/.exec(started.stdout)?.[1];
        if (started.status !== 0 || !pid) throw new Error(`ssh-agent did not start: ${started.stderr}`);
        // The key reaches the agent on stdin: never a file, never a command line.
        const added = spawnSync("ssh-add", ["-q", "-"], { input: key.endsWith("\n") ? key : `${key}\n`, env: { ...process.env, SSH_AUTH_SOCK: sock }, encoding: "utf8" });
        if (added.status !== 0) throw new Error(`ssh-add refused the steps' private key: ${added.stderr.trim()}`);
        agents.set(key, { sock, pid });
        return agents.get(key)!;
    };
    const run: NonNullable<VerifyOptions["run"]> = (host, script) =>
        new Promise((resolve) => {
            const sock = host.privateKey ? agentFor(host.privateKey).sock : process.env.SSH_AUTH_SOCK;
            // BatchMode: no password prompt, and no question about an unknown host key.
            const hostKeys = ["-o", "StrictHostKeyChecking=accept-new", ...(knownHosts ? ["-o", `UserKnownHostsFile=${knownHosts}`] : [])];
            const args = ["-p", String(host.port), "-o", "BatchMode=yes", ...hostKeys, "-o", "LogLevel=ERROR", "-o", "ConnectTimeout=15", `${host.user}@${host.host}`, "sudo bash -s"];
            const child = spawn("ssh", args, { env: { ...process.env, SSH_AUTH_SOCK: sock ?? "" }, stdio: ["pipe", "pipe", "pipe"] });
            let stdout = "";
            let stderr = "";
            child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
            child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
            child.on("close", (status) => resolve({ status: status ?? 255, stdout, stderr }));
            child.stdin.end(script);
        });
    const close = () => {
        for (const a of agents.values()) spawnSync("kill", [a.pid]);
        fs.rmSync(dir, { recursive: true, force: true });
    };
    return { run, close };
}

export async function verifyDeployment(deployment: { resources?: Record<string, unknown>[] }, o: VerifyOptions): Promise<VerifyResult> {
    const ssh = o.run ? undefined : sshRunner(o.knownHosts);
    const run = o.run ?? ssh!.run;
    try {
        const probed = await Promise.all(
            deployedHosts(deployment).map(async (host): Promise<HostReport & { probe?: ProbeResult }> => {
                const r = await run(host, probeFor(host, o.appName)).catch((e: Error) => ({ status: 255, stdout: "", stderr: e.message }));
                // ssh's own failures exit 255; the probe itself always exits 0 and prints @@now.
                if (r.status === 255 || !/^@@now \d+$/m.test(r.stdout)) return { host, unreachable: (r.stderr.trim() || `exit ${r.status}`).split("\n").slice(-3).join(" "), files: [], units: [], live: [], pack: [] };
                const probe = parseProbe(r.stdout);
                const probeMs = probe.elapsedMs;
                // How long each section took: from its start to the next one's (the last one's to the end).
                const starts = [...probe.sectionStartMs.entries()];
                const sectionMs = Object.fromEntries(starts.map(([name, at], i) => [name, (starts[i + 1]?.[1] ?? probeMs) - at]));
                const judged = judgeHost(host, probe, o.appName);
                if (o.scanPorts !== false) {
                    const sshPort = host.port;
                    const firewallStep = host.steps.find((s) => s.name.endsWith("-firewall"))?.urn;
                    judged.live.push(...portFindings(host.host, await openPorts(host.host, [...SCANNED_PORTS, sshPort]), { sshPort, firewallStep }));
                }
                return { host, probeMs, sectionMs, probe, pack: [], ...judged };
            }),
        );
        const reached = probed.filter((h): h is typeof h & ProbedHost => !!h.probe);
        const pack = o.pack ? packOnHosts(deployedRun(deployment, { project: o.pack.project, stack: o.stack }), reached, o.pack.policies, o.pack.config) : [];
        const hosts: HostReport[] = probed.map(({ probe: _probe, ...h }) => ({ ...h, pack: pack.filter((f) => hostOf(reached, f.urn) === h.host) }));
        const stackPack = pack.filter((f) => !hostOf(reached, f.urn));
        if (!o.site) return { hosts, pack: stackPack, site: [] };
        const nginxStep = hosts.flatMap((h) => h.host.steps).find((s) => s.name.endsWith("-nginx"))?.urn;
        try {
            const probe = await probeSite(o.site, { verifyCertificate: o.verifyCertificate });
            return { hosts, pack: stackPack, site: siteFindings(probe, Date.now() / 1000, { nginxStep }) };
        } catch (e) {
            return { hosts, pack: stackPack, site: [], siteError: (e as Error).message };
        }
    } finally {
        ssh?.close();
    }
}

/** The host a finding's resource configures: one of its steps, or its stand-in step for unmanaged nginx files. */
const hostOf = (probed: readonly ProbedHost[], urn: string | undefined) => probed.find((p) => p.host.steps.some((s) => s.urn === urn) || onUnmanagedFiles(urn, p.host))?.host;

/** The command that repairs a finding. */
export function repairCommand(stack: string, f: { step?: string; command?: string }, host?: DeployedHost): string | undefined {
    if (f.step) return `pulumi up --replace '${f.step}' --stack ${stack}`;
    if (f.command && host) return `ssh -p ${host.port} ${host.user}@${host.host} ${shq(f.command)}`;
    return undefined;
}

const stepResource = (s: DeployedStep) => ({ type: "command:remote:Command", name: s.name });

/** The findings in the plan's shape, for its report formats: drift first, then the live controls by ID. */
export function asFindings(result: VerifyResult, o: { stack: string; environment: Environment }): Finding[] {
    const out: Finding[] = [];
    const fix = (cmd: string | undefined) => (cmd ? ` Repair: ${cmd}` : "");
    for (const h of result.hosts) {
        if (h.unreachable) {
            out.push({ policy: "host-unreachable", level: "mandatory", message: `${h.host.id} could not be probed (not drift): ${h.unreachable}`, resource: { type: "host", name: h.host.id } });
            continue;
        }
        for (const d of h.files) {
            out.push({
                policy: "host-drift-file",
                level: "mandatory",
                urn: d.step.urn,
                resource: stepResource(d.step),
                message: `${d.path} on ${h.host.id} differs from what ${d.step.name} writes: ${d.problems.join(", ")}.${fix(repairCommand(o.stack, { step: d.step.urn }))}${d.diff ? `\n${d.diff}` : ""}`,
            });
        }
        for (const u of h.units) {
            out.push({ policy: "host-drift-unit", level: "mandatory", urn: u.step.urn, resource: stepResource(u.step), message: `${u.unit} on ${h.host.id} is ${u.enabled} and ${u.active}; ${u.step.name} keeps it enabled and active.${fix(repairCommand(o.stack, { step: u.step.urn }))}` });
        }
        for (const f of h.live) out.push(liveFinding(f, o, h.host));
        for (const f of h.pack) out.push(packFinding(f, o, h.host));
    }
    for (const f of result.pack) out.push(packFinding(f, o));
    for (const f of result.site) out.push(liveFinding(f, o));
    if (result.siteError) out.push({ policy: "site-unreachable", level: "mandatory", message: `the site could not be checked from outside: ${result.siteError}`, resource: { type: "site", name: "https" } });
    return out;
}

function liveFinding(f: LiveFinding, o: { stack: string; environment: Environment }, host?: DeployedHost): Finding {
    const cmd = repairCommand(o.stack, f, host);
    return {
        policy: livePolicyName(f.id),
        checklistId: f.id,
        level: levelFor(f.id, o.environment),
        urn: f.step,
        resource: host ? { type: "host", name: host.id } : { type: "site", name: "https" },
        message: `${f.message}.${cmd ? ` Repair: ${cmd}` : ""}`,
    };
}

/**
 * A pack finding on a host as it runs, under the pack's own policy name and level: what the host changed, with the
 * replace of the step whose file it judges; a file no step manages has no such repair.
 */
function packFinding(f: Finding, o: { stack: string }, host?: DeployedHost): Finding {
    const where = host ? ` [on ${host.id} as it runs; the deployed intent passes]` : " [on the hosts as they run; the deployed intent passes]";
    // Only a step's replace is a repair; a finding on another resource (a server) names no command.
    const repair = !host ? "" : onUnmanagedFiles(f.urn, host) ? " Repair: remove that file from the host, or manage it in the program." : ` Repair: ${repairCommand(o.stack, { step: f.urn })}`;
    return { ...f, message: `${f.message}${where}.${repair}` };
}

export const livePolicyName = (id: ChecklistId) => `${id.toLowerCase()}-live`;

/** Policy-like entries for the report formats (SARIF rules): one per live control found, and the drift kinds. */
export function reportPolicies(findings: readonly Finding[]) {
    const kinds: Record<string, string> = {
        "host-drift-file": "A managed file on a host differs from what its remote step writes (content, mode or owner).",
        "host-drift-unit": "A unit a remote step keeps enabled and running is not.",
        "host-unreachable": "A host could not be probed: not drift, but nothing is known about it.",
        "site-unreachable": "The site could not be checked from outside.",
    };
    const names = [...new Set(findings.map((f) => f.policy))];
    return names.map((name) => {
        const id = findings.find((f) => f.policy === name)?.checklistId as ChecklistId | undefined;
        return {
            name,
            description: id ? `${id}: ${CHECKLIST[id]} (judged on the running host)` : kinds[name] ?? name,
            enforcementLevel: "mandatory" as const,
            remediationSteps: "Run the finding's repair command; for a step, `pulumi up --replace <urn>` writes what the program renders again.",
            severity: "high" as const,
            tags: id ? [id, id.split("-")[0], "live"] : ["drift"],
        };
    });
}
