/**
 * The pack's configuration per stack, as `pulumi preview --policy-pack-config` takes it: each policy's
 * enforcement level (the checklist's levels, docs/checklist.md), the environment, and the waivers. Waivers are
 * written here, typed; the JSON files in policies/config/ are generated from this module
 * (`npm run policy-config`), a test keeps them in step, and `npm run plan` reads those files, as the CLI does.
 */
import type { EnforcementLevel } from "@pulumi/policy";
import { ALL_POLICIES } from "./catalog";
import { Environment, levelFor } from "./checklist";
import type { ChecklistPolicy, Waiver } from "./support";

/** Active waivers per stack. Each needs a reason of at least 10 characters, an owner and an expiry date. */
export const WAIVERS: Readonly<Record<string, readonly Waiver[]>> = {
    staging: [],
    prod: [],
};

export type PackConfig = Record<string, EnforcementLevel | ({ enforcementLevel?: EnforcementLevel } & Record<string, unknown>)>;

/** The config of one stack; `environment` defaults to the stack name. */
export function packConfig(stack: string, environment: Environment = stack === "prod" ? "prod" : "staging"): PackConfig {
    const waivers = [...(WAIVERS[stack] ?? [])];
    return Object.fromEntries(
        ALL_POLICIES.map((p) => {
            const id = (p as ChecklistPolicy).checklistId;
            return [p.name, { enforcementLevel: id ? levelFor(id, environment) : "mandatory", environment, waivers }];
        }),
    );
}
