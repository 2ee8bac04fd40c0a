/**
 * Stand-in for the `random` provider 4.21.2 (test code only; the real provider's Go module is not served here).
 *
 * Implements `random:index/randomPassword:RandomPassword` as the engine sees it: every input forces a
 * replacement (keepers included), `result` is generated from the OS's cryptographic randomness, honouring
 * length, the four classes, their minimums and `overrideSpecial`, and returned as a secret.
 * Differs from the real provider: no other resource types, no `bcryptHash` output, no import.
 */
import * as crypto from "crypto";
import * as provider from "@pulumi/pulumi/provider";
import { reveal, same, secret, typeOf } from "./support";

const PASSWORD = "random:index/randomPassword:RandomPassword";
const UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const NUMERIC = "0123456789";
const SPECIAL = "!@#$%&*()-_=+[]{}<>:?";

function generate(inputs: Record<string, any>): string {
    const length = Number(inputs.length);
    const classes: [string, number][] = [];
    if (inputs.upper !== false) classes.push([UPPER, Number(inputs.minUpper ?? 0)]);
    if (inputs.lower !== false) classes.push([LOWER, Number(inputs.minLower ?? 0)]);
    if (inputs.numeric !== false && inputs.number !== false) classes.push([NUMERIC, Number(inputs.minNumeric ?? 0)]);
    if (inputs.special !== false) classes.push([String(inputs.overrideSpecial ?? SPECIAL), Number(inputs.minSpecial ?? 0)]);
    const all = classes.map(([c]) => c).join("");
    const chars: string[] = [];
    for (const [set, min] of classes) for (let i = 0; i < min; i++) chars.push(set[crypto.randomInt(set.length)]);
    while (chars.length < length) chars.push(all[crypto.randomInt(all.length)]);
    for (let i = chars.length - 1; i > 0; i--) {
        const j = crypto.randomInt(i + 1);
        [chars[i], chars[j]] = [chars[j], chars[i]];
    }
    return chars.join("");
}

const random: provider.Provider = {
    version: "4.21.2",
    async check(urn, _olds, news) {
        if (typeOf(urn) !== PASSWORD) return { failures: [{ property: "", reason: `the random stand-in implements only ${PASSWORD}` }] };
        const length = Number(reveal(news).length);
        if (!Number.isInteger(length) || length < 1) return { failures: [{ property: "length", reason: "length must be a positive integer" }] };
        return { inputs: news };
    },
    async diff(_id, _urn, olds, news) {
        const keys = [...new Set([...Object.keys(news), ...Object.keys(olds)])].filter((k) => k !== "result" && k !== "id");
        const changed = keys.filter((k) => !same(olds[k], news[k]));
        return { changes: changed.length > 0, replaces: changed, deleteBeforeReplace: false };
    },
    async create(_urn, inputs) {
        return { id: "none", outs: { ...inputs, result: secret(generate(reveal(inputs))) } };
    },
    async read(id, _urn, props) {
        return { id, props };
    },
};

void provider.main(random, process.argv.slice(2));
