/**
 * The policy pack: `pulumi preview --policy-pack policies` (with `--policy-pack-config policies/config/<stack>.json`).
 * Only assembles the policies; they live in the modules of this directory so tests and the offline plan can use
 * them without starting the analyzer.
 */
import { PolicyPack } from "@pulumi/policy";
import { ALL_POLICIES } from "./catalog";

new PolicyPack("webapp-security-checklist", { policies: ALL_POLICIES });
