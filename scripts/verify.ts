/**
 * `npm run verify -- --stack <name>`: verifies the running hosts of a deployed stack against what it deployed and
 * against the security checklist (verify/run.ts). Read-only: it changes nothing on any host. The report has the
 * plan's formats, IDs and exit codes; each finding names its repair.
 */
import { LocalWorkspace } from "@pulumi/pulumi/automation";
import * as fs from "fs";
import * as path from "path";
import { CONFIG_KEYS, PROJECT } from "../lib/config-schema";
import { blocking, Evaluation } from "../plan/evaluate";
import { stackPackConfig } from "../plan/pack-config";
import { ALL_POLICIES } from "../policies/catalog";
import { FORMATS, Format, render } from "../plan/report";
import type { Environment } from "../policies/checklist";
import { asFindings, reportPolicies, verifyDeployment } from "../verify/run";

const USAGE = `usage: npm run verify -- --stack <name> [--format text|markdown|json|sarif] [--output FILE] [--cwd DIR] [--site HOST:PORT] [--scan none] [--known-hosts FILE]

Reads the stack's state (pulumi stack export), reaches each host the way its remote steps do, and reports host drift,
the checklist's live controls, and what the policy pack finds on the hosts as they are (with the stack's pack config,
policies/config/<stack>.json) that it does not find on the deployed intent. Changes nothing.

  --stack, -s NAME     the stack (required)
  --format, -f FORMAT  text (default), markdown, json, sarif
  --output, -o FILE    write the report there instead of stdout
  --cwd DIR            the project directory (Pulumi.yaml); default: this repository
  --site HOST:PORT     where to reach the site from outside (default: the stack's domain on 443); "none" skips it
  --scan none          do not try which of each host's ports accept connections from here
  --known-hosts FILE   the host keys to hold each host to (default ~/.ssh/known_hosts); a host with another key is
                       unreachable, one not listed is trusted on first contact and added

Exit codes:
  0  every host verified: no drift, no mandatory live finding
  1  drift or a mandatory live finding (each with its repair command)
  2  a usage error, or the stack cannot be read
  3  a host could not be reached, and nothing else was found
`;

function usage(message?: string): never {
    if (message) process.stderr.write(`${message}\n`);
    process.stderr.write(USAGE);
    process.exit(2);
}

function parseArgs(argv: string[]) {
    const o: { stack?: string; format: Format; output?: string; cwd: string; site?: string; scanPorts: boolean; knownHosts?: string } = { format: "text", cwd: path.resolve(__dirname, ".."), scanPorts: true };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        const next = () => argv[++i] ?? usage(`${a} needs a value`);
        if (a === "--stack" || a === "-s") o.stack = next();
        else if (a === "--format" || a === "-f") {
            const f = next();
            if (!(FORMATS as readonly string[]).includes(f)) usage(`unknown format ${f}`);
            o.format = f as Format;
        } else if (a === "--output" || a === "-o") o.output = next();
        else if (a === "--cwd") o.cwd = path.resolve(next());
        else if (a === "--site") o.site = next();
        else if (a === "--scan") {
            if (next() !== "none") usage("--scan takes only none");
            o.scanPorts = false;
        }
        else if (a === "--known-hosts") o.knownHosts = path.resolve(next());
        else if (a === "--help" || a === "-h") usage();
        else usage(`unknown argument ${a}`);
    }
    if (!o.stack) usage("--stack is required");
    return o as typeof o & { stack: string };
}

async function main() {
    const args = parseArgs(process.argv.slice(2));
    let deployment: { resources?: Record<string, unknown>[] };
    let outputs: Record<string, { value: unknown }>;
    let config: Record<string, { value: string }>;
    try {
        const ws = await LocalWorkspace.create({ workDir: args.cwd });
        deployment = (await ws.exportStack(args.stack)).deployment;
        outputs = await ws.stackOutputs(args.stack);
        config = await ws.getAllConfig(args.stack);
    } catch (e) {
        process.stderr.write(`verify: cannot read stack ${args.stack}: ${(e as Error).message}\n`);
        process.exit(2);
    }
    const setting = (key: "appName" | "tlsMode" | "loginPath") => config[`${PROJECT}:${key}`]?.value ?? String(CONFIG_KEYS[key].default);
    const environment = (outputs.environment?.value ?? "prod") as Environment;
    const domain = String(outputs.url?.value ?? "").replace(/^https:\/\//, "");
    const [siteHost, sitePort] = (args.site ?? `${domain}:443`).split(":");
    const started = Date.now();
    const result = await verifyDeployment(deployment, {
        stack: args.stack,
        environment,
        appName: setting("appName"),
        site: args.site === "none" || !domain ? false : { domain, address: siteHost, port: Number(sitePort || 443), loginPath: setting("loginPath") },
        verifyCertificate: environment === "prod" && setting("tlsMode") === "letsencrypt",
        scanPorts: args.scanPorts,
        knownHosts: args.knownHosts,
        pack: { project: PROJECT, policies: ALL_POLICIES, config: stackPackConfig({ root: args.cwd, stack: args.stack, environment }) },
    });
    const findings = asFindings(result, { stack: args.stack, environment });
    const evaluation: Evaluation = { findings, notApplicable: [], waivers: [], elapsedMs: Date.now() - started, policiesRun: 0 };
    const hostLines = result.hosts.map((h) => `  ${h.host.id}: ${h.unreachable ? "unreachable" : `probe ${h.probeMs} ms, ${h.host.steps.length} steps, ${h.files.length + h.units.length} drifted, ${h.live.length} live findings, ${h.pack.length} pack findings${h.exposure ? `; ${h.exposure}` : ""}`}`);
    const report = render(args.format, {
        project: PROJECT,
        stack: args.stack,
        evaluation,
        policies: reportPolicies(findings) as never,
        resourceCount: result.hosts.length,
    });
    const hosts = result.hosts.map((h) => ({ id: h.host.id, unreachable: h.unreachable ?? null, probeMs: h.probeMs ?? null, sectionMs: h.sectionMs ?? null, steps: h.host.steps.length, drifted: h.files.length + h.units.length, live: h.live.length, pack: h.pack.length, exposure: h.exposure ?? null }));
    const text = args.format === "text" ? `${report}Hosts:\n${hostLines.join("\n")}\n` : args.format === "json" ? `${JSON.stringify({ ...JSON.parse(report), hosts }, null, 2)}\n` : report;
    if (args.output) fs.writeFileSync(args.output, text);
    else process.stdout.write(text);
    const mandatory = blocking(evaluation).filter((f) => f.policy !== "host-unreachable");
    process.exit(mandatory.length ? 1 : result.hosts.some((h) => h.unreachable) ? 3 : 0);
}

void main();
