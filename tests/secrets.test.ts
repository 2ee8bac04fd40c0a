/**
 * Generated secrets: strength (SEC-1), rotation (SEC-4), Secrets Manager and least privilege (SEC-3, SEC-6),
 * and no secret value anywhere in plain sight (SEC-5).
 */
import type { PlanRun } from "../plan/run";
import { isSecret, ofType, resource, runIsolated, runStack, strings } from "./helpers";

let staging: PlanRun;
let prod: PlanRun;
beforeAll(async () => {
    staging = await runStack("staging");
    prod = await runStack("prod");
});

/** Runs AppSecrets alone at a fixed clock and returns the run with its values exported as stack outputs. */
async function secretsAt(now: string, extra: Record<string, unknown> = {}): Promise<PlanRun> {
    const run = await runIsolated({
        stack: "staging",
        program: () => {
            // Required here, inside the isolated registry the runtime lives in.
            // eslint-disable-next-line @typescript-eslint/no-require-imports
            const { AppSecrets } = require("../components/secrets") as typeof import("../components/secrets");
            const s = new AppSecrets("app", { rotationDays: 90, now: new Date(now), ...extra });
            return { ...(s.dbPassword ? { dbPassword: s.dbPassword } : {}), appSecretKey: s.appSecretKey, current: s.encryptionKey.current, previous: s.encryptionKey.previous, generation: s.generation, nextRotation: s.nextRotation };
        },
    });
    if (run.error) throw run.error;
    return run;
}

const value = (run: PlanRun, key: string) => {
    const v = run.outputs[key];
    return isSecret(v) ? v.value : v;
};

describe("SEC-1: strength", () => {
    test.each(["staging", "prod"])("%s: every password is long and uses the full alphabet", (stack) => {
        const run = stack === "prod" ? prod : staging;
        const passwords = ofType(run, "random:index/randomPassword:RandomPassword");
        expect(passwords.map((p) => p.name).sort()).toEqual(["app-app-secret-key", "app-db-password", "app-encryption-key-a", "app-encryption-key-b"]);
        for (const p of passwords) {
            expect(p.inputs.length).toBeGreaterThanOrEqual(p.name === "app-app-secret-key" ? 48 : 32);
            expect(p.inputs).toMatchObject({ upper: true, lower: true, numeric: true, special: true });
            for (const min of ["minUpper", "minLower", "minNumeric", "minSpecial"]) expect(p.inputs[min]).toBeGreaterThanOrEqual(1);
            const result = p.outputs.result;
            expect(isSecret(result)).toBe(true);
            expect(String((result as { value: string }).value)).toHaveLength(Number(p.inputs.length));
        }
    });

    test("a SQLite app gets no database password", async () => {
        const run = await secretsAt("2026-11-23T12:00:00Z", { databaseEngine: "sqlite" });
        expect(ofType(run, "random:index/randomPassword:RandomPassword").map((p) => p.name)).not.toContain("app-db-password");
        expect(run.outputs.dbPassword).toBeUndefined();
    });
});

describe("SEC-4: rotation", () => {
    test("the same day gives the same generation, keepers and values", async () => {
        const a = await secretsAt("2026-11-23T08:00:00Z");
        const b = await secretsAt("2026-11-23T20:00:00Z");
        expect(value(b, "generation")).toBe(value(a, "generation"));
        for (const key of ["dbPassword", "appSecretKey", "current", "previous"]) expect(value(b, key)).toBe(value(a, key));
    });

    test("a new period replaces every secret, and the encryption key keeps its predecessor", async () => {
        const before = await secretsAt("2026-11-23T12:00:00Z");
        const after = await secretsAt(String(value(before, "nextRotation")));
        expect(value(after, "generation")).toBe(Number(value(before, "generation")) + 1);
        const keepers = (run: PlanRun, name: string) => resource(run, name).inputs.keepers;
        expect(keepers(after, "app-db-password")).not.toEqual(keepers(before, "app-db-password"));
        expect(value(after, "dbPassword")).not.toBe(value(before, "dbPassword"));
        expect(value(after, "appSecretKey")).not.toBe(value(before, "appSecretKey"));
        expect(value(after, "current")).not.toBe(value(before, "current"));
        // The key that was current is now the previous one: data encrypted before the rotation stays readable.
        expect(value(after, "previous")).toBe(value(before, "current"));
    });

    test("every secret value the component exposes is a Pulumi secret", async () => {
        const run = await secretsAt("2026-11-23T12:00:00Z");
        for (const key of ["dbPassword", "appSecretKey", "current", "previous"]) expect({ key, secret: isSecret(run.outputs[key]) }).toEqual({ key, secret: true });
    });
});

describe("SEC-3, SEC-6: Secrets Manager in prod", () => {
    test("each secret is stored with a recovery window and protected", () => {
        const secrets = ofType(prod, "aws:secretsmanager/secret:Secret");
        expect(secrets.map((s) => s.inputs.name).sort()).toEqual(["webapp/prod/app-secret-key", "webapp/prod/db-password", "webapp/prod/encryption-key"]);
        for (const s of secrets) {
            expect(s.inputs.recoveryWindowInDays).toBeGreaterThanOrEqual(7);
            expect(s.protect).toBe(true);
        }
        for (const v of ofType(prod, "aws:secretsmanager/secretVersion:SecretVersion")) expect(isSecret(v.inputs.secretString)).toBe(true);
    });

    test("the encryption key is stored with its predecessor", () => {
        const version = resource(prod, "app-encryption-key-version");
        const stored = JSON.parse(String((version.inputs.secretString as { value: string }).value));
        const slots = ["app-encryption-key-a", "app-encryption-key-b"].map((n) => String((resource(prod, n).outputs.result as { value: string }).value));
        expect([stored.current, stored.previous].sort()).toEqual(slots.sort());
    });

    test("only the app's identity may read them, and only them", () => {
        const policy = resource(prod, "app-read-policy");
        const doc = JSON.parse(String(policy.inputs.policy));
        const arns = ofType(prod, "aws:secretsmanager/secret:Secret").map((s) => s.id);
        const names = ofType(prod, "aws:secretsmanager/secret:Secret").map((s) => String(s.inputs.name));
        // Named by the pattern AWS documents for a secret's ARN (its name, `-` and six characters), known at preview.
        expect(doc.Statement).toEqual([{ Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"], Resource: names.map((n) => `arn:aws:secretsmanager:eu-central-1:123456789012:secret:${n}-??????`) }]);
        const patterns = (doc.Statement[0].Resource as string[]).map((p) => new RegExp(`^${p.replace(/[.*+^${}()|[\]\\/]/g, "\\$&").replace(/\?/g, ".")}$`));
        expect(arns.map((arn) => patterns.filter((p) => p.test(arn)).length)).toEqual(arns.map(() => 1));
        expect(resource(prod, "app-read-policy-attachment").inputs).toEqual(expect.objectContaining({ user: "webapp-prod-app", policyArn: policy.id }));
    });

    test("staging keeps its secrets in Pulumi only", () => {
        expect(ofType(staging, "aws:secretsmanager/secret:Secret")).toEqual([]);
        expect(staging.resources.filter((r) => r.type.startsWith("aws:"))).toEqual([]);
    });

    test("a Secrets Manager store without a reader is refused", async () => {
        await expect(secretsAt("2026-11-23T12:00:00Z", { store: "aws-secrets-manager" })).rejects.toThrow(/needs secretNamePrefix, region and reader/);
    });
});

describe("SEC-5: no secret value in plain sight", () => {
    test.each(["staging", "prod"])("%s: no plain input, output or stack output contains a generated secret", (stack) => {
        const run = stack === "prod" ? prod : staging;
        const secretValues = run.resources.flatMap((r) => strings(r.outputs).secret).filter((s) => s.length >= 16);
        expect(secretValues.length).toBeGreaterThanOrEqual(stack === "prod" ? 5 : 4);
        const plain = [...run.resources.flatMap((r) => [...strings(r.inputs).plain, ...strings(r.outputs).plain]), ...strings(run.outputs).plain];
        const leaks = plain.filter((p) => secretValues.some((s) => p.includes(s)));
        expect(leaks).toEqual([]);
    });

    test("the scan finds a secret put in plain sight, so it can fail", () => {
        const run = prod;
        const secret = String((resource(run, "app-db-password").outputs.result as { value: string }).value);
        const plain = strings({ userData: `DATABASE_PASSWORD=${secret}` }).plain;
        expect(plain.some((p) => p.includes(secret))).toBe(true);
    });
});
