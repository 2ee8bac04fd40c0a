/**
 * The offline plan models the preview of a first deploy as the engine shows it to the policy pack: new
 * resources' computed outputs and generated secrets are unknown, and a policy that reads an unknown value is
 * not judged (the engine skips it with "can't run … during preview"). The plan reports that at the policy's
 * level, so a mandatory control the engine could not judge fails the plan.
 */
import * as pulumi from "@pulumi/pulumi";
import { ALL_POLICIES } from "../policies/catalog";
import { packConfig } from "../policies/pack-config";
import { blocking, evaluate } from "../plan/evaluate";
import type { PlanRun } from "../plan/run";
import { isSecret, resource, runIsolated } from "./helpers";
import { clone, res } from "./support/policy";

let prod: PlanRun;
beforeAll(async () => {
    prod = await runIsolated({ stack: "prod", firstDeploy: true });
    if (prod.error) throw prod.error;
});

const judge = (run: PlanRun) => evaluate(run, ALL_POLICIES, packConfig(run.stack));

test("generated secrets and new resources' outputs are unknown; every step's command is known", () => {
    expect(pulumi.isUnknown(resource(prod, "app-db-password").outputs.result)).toBe(true);
    expect(pulumi.isUnknown(resource(prod, "web-server-0").outputs.ipv4Address)).toBe(true);
    const credentials = resource(prod, "service-0-credentials");
    // A secret that is not known yet: unknown (the runtime drops the secret marker of an unknown value).
    expect(pulumi.isUnknown(credentials.inputs.stdin) || (isSecret(credentials.inputs.stdin) && pulumi.isUnknown(credentials.inputs.stdin.value))).toBe(true);
    for (const r of prod.resources.filter((x) => x.type === "command:remote:Command")) expect({ step: r.name, create: typeof r.inputs.create }).toEqual({ step: r.name, create: "string" });
});

test("the shipped prod stack is judged in full before its first deploy", () => {
    const e = judge(prod);
    expect(e.findings).toEqual([]);
    expect(e.policiesRun).toBe(ALL_POLICIES.length);
});

test("a policy that reads an unknown value is not judged, at its own level, and fails the plan", () => {
    const run = clone(prod);
    // A firewall whose rules depend on something created in the same update.
    res(run, "web-firewall").inputs.rules = pulumi.unknown;
    const e = judge(run);
    const notJudged = e.findings.filter((f) => f.notJudged);
    expect(notJudged.map((f) => [f.policy, f.level])).toEqual(expect.arrayContaining([["net-1-only-web-ports-public", "mandatory"]]));
    expect(notJudged[0].message).toMatch(/^can't run policy '[a-z0-9-]+' during preview: \w+ value at \.rules can't be known during preview$/);
    expect(blocking(e).length).toBeGreaterThan(0);
});

test("SEC-5: a step whose command is built from a generated secret cannot be judged before it runs, and is reported", () => {
    const run = clone(prod);
    // As the program did before: the secret inside the script, so the command is unknown until the secret exists.
    res(run, "database-role").inputs.create = pulumi.unknown;
    const e = judge(run);
    const sec5 = e.findings.filter((f) => f.policy === "sec-5-secrets-stay-secret");
    expect(sec5.map((f) => [f.resource?.name, f.level, f.notJudged ?? false])).toEqual([["database-role", "mandatory", false]]);
    expect(sec5[0].message).toMatch(/its create is not known before the update .* pass such values as the step's `values` or `secrets`/);
});
