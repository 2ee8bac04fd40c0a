/**
 * Waivers are part of the pack's config: one control, one resource, a reason, an owner, an expiry date. A
 * malformed or expired waiver is itself a mandatory violation, so waivers cannot quietly outlive their reason.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { PolicyConfig, POLICY_CONFIG_SCHEMA, Waiver, waiverExpired, waiverProblems } from "./support";

export const waiversValid: StackValidationPolicy = {
    name: "waivers-valid",
    description: "Every waiver names a checklist control and a resource, says why (>= 10 characters), names an owner and has not expired.",
    enforcementLevel: "mandatory",
    severity: "high",
    remediationSteps: "Fix the waiver in the stack's policy config, renew it with a new expiry after review, or remove it and fix the resource.",
    tags: ["WAIVER"],
    configSchema: POLICY_CONFIG_SCHEMA,
    validateStack: (args, reportViolation) => {
        const config = args.getConfig<PolicyConfig>();
        for (const [i, w] of (config.waivers ?? []).entries()) {
            const problems = waiverProblems(w as Partial<Waiver>);
            const label = `waiver ${i + 1} (${w.control ?? "?"} on ${w.resource ?? "?"})`;
            if (problems.length) reportViolation(`${label} is malformed: ${problems.join("; ")}. Fix or remove it.`);
            else if (waiverExpired(w)) reportViolation(`${label} expired on ${w.expires} (owner ${w.owner}); fix the resource or renew the waiver after review.`);
            else if (!args.resources.some((r) => r.name === w.resource || r.urn === w.resource)) reportViolation(`${label} names no resource of this stack; remove it or correct the name.`);
        }
    },
};
