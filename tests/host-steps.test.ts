/**
 * The remote steps of the real program: what each one writes to the host (read back from the script it sends),
 * their order, and how secrets travel.
 */
import type { PlanRun, RecordedResource } from "../plan/run";
import { parseApplyScript, renderApplyScript, stepCommand } from "../lib/render/apply-script";
import { scriptHash } from "../components/remote-step";
import { renderNginxSite } from "../lib/render/nginx";
import { renderSshdConfig } from "../lib/render/sshd";
import { renderUfwRules } from "../lib/render/ufw";
import { hostHardeningScripts } from "../components/host-hardening";
import { isSecret, ofType, resource, run, runIsolated, runStack, stepFiles, stepScript, stepValues, unwrapSecrets } from "./helpers";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";

let staging: PlanRun;
let prod: PlanRun;
let rds: PlanRun;
beforeAll(async () => {
    staging = await runStack("staging");
    prod = await runStack("prod");
    rds = await runStack("prod", { "webapp:provider": "aws", "webapp:databaseEngine": "rds" });
});

const stdin = (r: RecordedResource) => stepScript(r);
const filesOf = (run: PlanRun, name: string) => Object.fromEntries(parseApplyScript(stepScript(resource(run, name))).map((f) => [f.path, f]));

describe("what the steps write", () => {
    test("the scripts read back to exactly the files they carry", () => {
        const script = hostHardeningScripts({ connection: { host: "h", port: 22, user: "u", dialErrorLimit: 1, perDialTimeout: 1 }, adminUser: "deploy", adminCidrs: ["198.51.100.14/32"], appName: "webapp" })[4];
        expect(parseApplyScript(renderApplyScript(script))).toEqual(script.files.map((f) => ({ mode: "0644", owner: "root:root", ...f })));
    });

    test("SSH gets the hardened drop-in for the stack's admin and port", () => {
        expect(filesOf(prod, "host-0-ssh")["/etc/ssh/sshd_config.d/10-hardening.conf"].content).toBe(renderSshdConfig({ adminUser: "deploy", port: 22 }));
    });

    test("ufw gets the same admin networks as the cloud firewall", () => {
        const adminCidrs = JSON.parse(prod.config["webapp:adminCidrs"]);
        expect(filesOf(prod, "host-0-firewall")["/etc/ufw/pulumi-rules"].content).toBe(renderUfwRules({ sshPort: 22, adminCidrs }));
    });

    test("nginx serves the stack's domains with its certificate paths; staging asks the Let's Encrypt staging CA", () => {
        const site = filesOf(prod, "proxy-0-nginx")["/etc/nginx/sites-enabled/webapp"].content;
        expect(site).toContain("server_name app.example.com www.app.example.com;");
        expect(site).toContain("ssl_certificate /etc/webapp/tls/fullchain.pem;");
        expect(site).toBe(
            renderNginxSite({
                name: "webapp", domains: ["app.example.com", "www.app.example.com"], upstreamPort: 8000, loginPath: "/login", apiPrefix: "/api/",
                clientMaxBodySize: "10m",
                uploads: { path: "/uploads/", mode: "internal", directory: "/var/lib/webapp/uploads" },
                certificate: { fullchain: "/etc/webapp/tls/fullchain.pem", privkey: "/etc/webapp/tls/privkey.pem" },
            }),
        );
        expect(stdin(resource(staging, "proxy-0-nginx"))).toMatch(/certbot .*'--staging'/);
        expect(stdin(resource(prod, "proxy-0-nginx"))).toMatch(/certbot /);
        expect(stdin(resource(prod, "proxy-0-nginx"))).not.toContain("--staging");
    });

    test("the app unit loads every secret as a credential", () => {
        const unit = filesOf(prod, "service-0-service")["/etc/systemd/system/webapp.service"].content;
        expect(unit.split("\n").filter((l) => l.startsWith("LoadCredential="))).toEqual(
            ["app-secret-key", "aws-access-key-id", "aws-secret-access-key", "db-password", "encryption-key", "encryption-key-previous"].map((c) => `LoadCredential=${c}:/etc/webapp/credentials/${c}`),
        );
    });

    test.each(["staging", "prod", "prod with RDS"])("%s: every script passes shellcheck", (stack) => {
        const runData = { staging, prod, "prod with RDS": rds }[stack]!;
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "steps-"));
        try {
            for (const r of ofType(runData, "command:remote:Command")) {
                const file = path.join(dir, r.name);
                fs.writeFileSync(file, stdin(r));
                const res = run("shellcheck", ["--shell=bash", "--severity=style", file]);
                expect({ step: r.name, findings: res.stdout }).toEqual({ step: r.name, findings: "" });
            }
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});

describe("how the steps run", () => {
    test("every step's command is its script, known before the update and run by sudo bash; keyed by the hashes of script and values", () => {
        for (const r of ofType(prod, "command:remote:Command")) {
            expect(isSecret(r.inputs.create)).toBe(false);
            expect(String(r.inputs.create)).toBe(stepCommand(stepScript(r)));
            // A secret element makes the whole array secret (the runtime lifts secretness to the property).
            expect(isSecret(r.inputs.triggers)).toBe(isSecret(r.inputs.stdin));
            const triggers = unwrapSecrets(r.inputs.triggers) as string[];
            expect(triggers[0]).toBe(scriptHash(String(r.inputs.create)));
            if (r.inputs.stdin === undefined) expect(triggers).toHaveLength(1);
            else expect(triggers[1]).toBe(scriptHash(String(unwrapSecrets(r.inputs.stdin))));
            expect(r.inputs.addPreviousOutputInEnv).toBe(false);
        }
    });

    test("the host steps run one after another, the app and proxy after the host", () => {
        const order = ["packages", "users", "ssh", "firewall", "fail2ban", "upgrades", "sysctl", "baseline", "audit", "monitoring"].map((s) => resource(prod, `host-0-${s}`));
        order.slice(1).forEach((step, i) => expect(step.dependencies).toContain(order[i].urn));
        for (const name of ["service-0-credentials", "proxy-0-nginx"]) {
            expect(resource(prod, name).dependencies).toEqual(expect.arrayContaining(order.map((s) => s.urn)));
        }
        expect(resource(prod, "service-0-service").dependencies).toContain(resource(prod, "service-0-credentials").urn);
    });

    test("secrets travel only on the secret credentials step's stdin, into root-owned 0600 files (SEC-4, SEC-5)", () => {
        const step = resource(prod, "service-0-credentials");
        expect(isSecret(step.inputs.stdin)).toBe(true);
        expect(isSecret(step.inputs.triggers)).toBe(true);
        expect(step.additionalSecretOutputs).toEqual(expect.arrayContaining(["stdout", "stderr"]));
        const files = parseApplyScript(stepScript(step));
        expect(files.every((f) => f.mode === "0600" && f.owner === "root:root" && f.path.startsWith("/etc/webapp/credentials/"))).toBe(true);
        expect(files.find((f) => f.path.endsWith("/db-password"))?.content).toBe("@@secret:db-password@@");
        const password = String((resource(prod, "app-db-password").outputs.result as { value: string }).value);
        expect(stepValues(step)["db-password"]).toBe(password);
        expect(stepFiles(step).find((f) => f.path.endsWith("/db-password"))?.content).toBe(password);
        expect(String(step.inputs.create)).not.toContain(password);
        for (const r of ofType(prod, "command:remote:Command").filter((c) => c !== step)) {
            const carries = String(r.inputs.create).includes(password) || Object.values(stepValues(r)).some((v) => v.includes(password));
            expect({ step: r.name, carries }).toEqual({ step: r.name, carries: false });
        }
    });
});

describe("bad component arguments fail before anything is registered", () => {
    test("a reverse proxy with a login rate of 0 and an upstream on port 80", async () => {
        const result = await runIsolated({
            stack: "staging",
            program: () => {
                // eslint-disable-next-line @typescript-eslint/no-require-imports
                const { ReverseProxy } = require("../components/reverse-proxy") as typeof import("../components/reverse-proxy");
                new ReverseProxy("proxy", {
                    connection: { host: "192.0.2.10", port: 22, user: "deploy", dialErrorLimit: 1, perDialTimeout: 1 },
                    proxy: { name: "webapp", domains: ["app.example.com"], upstreamPort: 80, loginRatePerMinute: 0 },
                    acmeEmail: "ops@example.com",
                });
            },
        });
        expect(result.error?.message).toMatch(/ReverseProxy proxy: upstreamPort 80 must be an unprivileged port.*; loginRatePerMinute 0 must be a whole number from 1 to 600/);
        expect(result.resources.map((r) => r.type)).toEqual(["pulumi:pulumi:Stack"]);
    });
});
