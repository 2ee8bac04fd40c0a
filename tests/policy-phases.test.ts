/**
 * Which phase judges what: a policy with `resourceTypes` judges each of those resources alone as the engine
 * registers it (before its step runs, in every mode of `pulumi up`), and its stack check adds only what the
 * resources show together. Each case breaks one thing in the compliant prod plan.
 */
import type { ResourceValidationArgs } from "@pulumi/policy";
import type { PlanRun, RecordedResource } from "../plan/run";
import { unwrapSecrets } from "../plan/secrets";
import { POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import type { ChecklistPolicy } from "../policies/support";
import { ApplyScript, renderApplyScript, stepCommand } from "../lib/render/apply-script";
import { SSHD_DROPIN_PATH } from "../lib/render/sshd";
import { addFile, clone, editFile, findings, res, shippedRuns } from "./support/policy";

let prod: PlanRun;
let staging: PlanRun;
beforeAll(async () => {
    ({ prod, staging } = await shippedRuns());
});

const SSHD = SSHD_DROPIN_PATH;
const JAIL = "/etc/fail2ban/jail.d/sshd.local";
const perResource = POLICIES.filter((p) => p.resourceTypes.length > 0);

/** What one policy's resource check says of one resource of a run, as the engine's analyzer calls it. */
function alone(policy: ChecklistPolicy, run: PlanRun, r: RecordedResource): string[] {
    const said: string[] = [];
    const entry = packConfig(run.stack)[policy.name];
    const config = { environment: "prod", waivers: [], ...(typeof entry === "object" ? entry : {}) };
    const args = { type: r.type, name: r.name, urn: r.urn, props: unwrapSecrets({ ...r.inputs }), getConfig: () => config } as unknown as ResourceValidationArgs;
    policy.validateResource?.(args, (message: string) => said.push(message));
    return said;
}

/** Every resource check on every resource of a run: `policy | resource | message`. */
const resourceFindings = (run: PlanRun) => perResource.flatMap((p) => run.resources.flatMap((r) => alone(p, run, r).map((m) => `${p.name} | ${r.name} | ${m}`)));

describe("resource checks", () => {
    test("cover the host's SSH, apt, sysctl, user and firewall controls, on the resources that carry them", () => {
        expect(perResource.map((p) => p.checklistId)).toEqual(["NET-1", "NET-2", "SSH-1", "SSH-2", "SSH-3", "SSH-4", "SSH-6", "HOST-1", "HOST-2", "HOST-3"]);
        for (const p of perResource) expect(p.resourceTypes).toContain("command:remote:Command");
    });

    test("the compliant prod and staging plans pass every resource alone", () => {
        expect(resourceFindings(prod)).toEqual([]);
        expect(resourceFindings(staging)).toEqual([]);
    });

    test("MaxAuthTries 6 in the ssh step is refused on that step alone, and the plan reports it once", () => {
        const run = clone(prod);
        editFile(run, "host-0-ssh", SSHD, (c) => c.replace("MaxAuthTries 3", "MaxAuthTries 6"));
        expect(resourceFindings(run)).toEqual([`ssh-3-ssh-admin-only | host-0-ssh | ${SSHD}: MaxAuthTries is 6, not <= 3 (host-0-ssh)`]);
        expect(findings(run).map((f) => `${f.policy} | ${f.resource?.name} | ${f.message}`)).toEqual([`ssh-3-ssh-admin-only | host-0-ssh | ${SSHD}: MaxAuthTries is 6, not <= 3 (host-0-ssh)`]);
    });

    test("a world-open SSH rule is refused on the cloud firewall alone", () => {
        const run = clone(prod);
        (res(run, "web-firewall").inputs.rules as Record<string, unknown>[]).push({ direction: "in", protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/0"] });
        expect(resourceFindings(run)).toEqual([expect.stringMatching(/^net-1-only-web-ports-public \| web-firewall \| web-firewall opens port 22 to 0\.0\.0\.0\/0, the whole internet/)]);
        expect(findings(run).map((f) => f.policy)).toEqual(["net-1-only-web-ports-public"]);
    });

    test("what a step leaves unset is not its own finding: a drop-in of another step that sets only a banner passes alone and in the stack", () => {
        const run = clone(prod);
        addFile(run, "host-0-baseline", "/etc/ssh/sshd_config.d/60-banner.conf", "Banner /etc/issue.net\n");
        expect(resourceFindings(run)).toEqual([]);
        expect(findings(run)).toEqual([]);
    });

    test("an earlier drop-in of another step that loosens a value is refused on that step alone", () => {
        const run = clone(prod);
        addFile(run, "host-0-baseline", "/etc/ssh/sshd_config.d/00-tries.conf", "MaxAuthTries 10\n");
        expect(resourceFindings(run)).toEqual([`ssh-3-ssh-admin-only | host-0-baseline | /etc/ssh/sshd_config.d/00-tries.conf: MaxAuthTries is 10, not <= 3 (host-0-baseline)`]);
        expect(findings(run).map((f) => `${f.policy} | ${f.resource?.name}`)).toEqual(["ssh-3-ssh-admin-only | host-0-baseline"]);
    });

    test("what only the resources together show stays the stack's: a jail that bans another port than sshd listens on", () => {
        const run = clone(prod);
        editFile(run, "host-0-fail2ban", JAIL, (c) => c.replace("port = 22", "port = 2222"));
        // The fail2ban step alone cannot know sshd's port; the stack check compares the two steps.
        expect(resourceFindings(run)).toEqual([]);
        expect(findings(run).map((f) => `${f.policy} | ${f.resource?.name} | ${f.message}`)).toEqual([expect.stringMatching(/^ssh-4-fail2ban-sshd-jail \| host-0-fail2ban \| the fail2ban sshd jail has port = 2222 .* bans other ports than sshd's port 22/)]);
    });

    test("a value left to fail2ban's stock default is the stack's too: the jail judged alone passes, the stack names it", () => {
        const run = clone(prod);
        editFile(run, "host-0-fail2ban", JAIL, (c) => c.replace("bantime = 3600\n", ""));
        expect(resourceFindings(run)).toEqual([]);
        expect(findings(run).map((f) => f.message)).toEqual([expect.stringMatching(/bantime = 10m \(fail2ban's stock default\)/)]);
    });
});

describe("a component that carries its steps' plan", () => {
    /** Edits one file of one planned step of a HostHardening component's `plan` input. */
    const editPlanned = (run: PlanRun, component: string, step: string, file: string, edit: (c: string) => string) => {
        const plan = res(run, component).inputs.plan as { steps: { name: string; files: { path: string; content: string }[] }[] };
        const f = plan.steps.find((s) => s.name === step)?.files.find((x) => x.path === file);
        if (!f) throw new Error(`${component} plans no ${file} in ${step}`);
        f.content = edit(f.content);
    };

    test("HostHardening carries every step's script as data, and they render to exactly what the steps run", () => {
        const plan = res(prod, "host-0").inputs.plan as { steps: ApplyScript[] };
        const steps = prod.resources.filter((r) => r.parent === res(prod, "host-0").urn && r.type === "command:remote:Command");
        expect(plan.steps.map((s) => `host-0-${s.name}`)).toEqual(steps.map((s) => s.name));
        for (const s of plan.steps) expect(stepCommand(renderApplyScript(s))).toBe(res(prod, `host-0-${s.name}`).inputs.create);
    });

    test("MaxAuthTries 6 in the planned ssh step is refused on the component, before any of its steps is registered", () => {
        const run = clone(prod);
        editPlanned(run, "host-0", "ssh", SSHD, (c) => c.replace("MaxAuthTries 3", "MaxAuthTries 6"));
        expect(resourceFindings(run)).toEqual([`ssh-3-ssh-admin-only | host-0 | ${SSHD}: MaxAuthTries is 6, not <= 3 (host-0-ssh)`]);
    });

    test("the planned steps are judged together: a later planned file that loosens the jail is the component's finding", () => {
        const run = clone(prod);
        editPlanned(run, "host-0", "fail2ban", JAIL, (c) => c.replace("maxretry = 5", "maxretry = 9"));
        expect(resourceFindings(run)).toEqual([expect.stringMatching(/^ssh-4-fail2ban-sshd-jail \| host-0 \| the fail2ban sshd jail has maxretry = 9/)]);
    });
});
