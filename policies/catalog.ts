/**
 * Every policy of the pack, in checklist order. Importing this starts nothing; policies/index.ts hands the list to
 * `new PolicyPack`, which starts the analyzer's gRPC server.
 */
import { appPolicies } from "./app";
import { CHECKLIST_IDS } from "./checklist";
import { cloudPolicies } from "./cloud";
import { computePolicies } from "./compute";
import { dataPolicies } from "./data";
import { fleetPolicies } from "./fleet";
import { baselinePolicies } from "./baseline";
import { hostPolicies } from "./host";
import { networkPolicies } from "./network";
import { proxyPolicies } from "./proxy";
import { ChecklistPolicy } from "./support";
import { waiversValid } from "./waivers";

export const POLICIES: ChecklistPolicy[] = [...networkPolicies, ...hostPolicies, ...baselinePolicies, ...computePolicies, ...proxyPolicies, ...appPolicies, ...cloudPolicies, ...dataPolicies, ...fleetPolicies].sort(
    (a, b) => CHECKLIST_IDS.indexOf(a.checklistId) - CHECKLIST_IDS.indexOf(b.checklistId),
);

/** The checklist policies and the waiver check. */
export const ALL_POLICIES = [...POLICIES, waiversValid];
