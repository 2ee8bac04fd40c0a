/**
 * AppSecrets: every generated secret of the app (SEC-1), rotated on a fixed period (SEC-4), kept as Pulumi
 * secrets and, where configured, in AWS Secrets Manager readable only by the app's identity (SEC-3, SEC-6).
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import { attachPolicy, PolicyTarget } from "./app-identity";
import { secretArnPattern } from "../lib/aws-arn";
import { dualSlotKeepers, generationEnd, rotationGeneration } from "../lib/rotation";
import { passwordArgs, SecretSpec, secretSpecsFor } from "../lib/secret-specs";

export interface AppSecretsArgs {
    /** Database engine; `sqlite` needs no database password. Default: `"self-hosted"`. */
    databaseEngine?: "self-hosted" | "rds" | "sqlite";
    /** Rotation period in days (SEC-4). Default: 90. */
    rotationDays?: number;
    /** The clock rotation is computed from; tests pass a fixed date. Default: the current time. */
    now?: Date;
    /** Use this rotation generation instead of the clock's (a drift check at the last deploy's). Default: the clock's. */
    generation?: number;
    /** `"aws-secrets-manager"` also stores every secret there (SEC-3). Default: `"pulumi"`. */
    store?: "pulumi" | "aws-secrets-manager";
    /** Secrets Manager name prefix, e.g. `webapp/prod`. Required with store aws-secrets-manager. */
    secretNamePrefix?: string;
    /** AWS region of the provider the secrets are created with. Required with store aws-secrets-manager. */
    region?: string;
    /** The app's identity, the only reader of the Secrets Manager secrets (SEC-6). Required with store aws-secrets-manager. */
    reader?: PolicyTarget;
    /** Days a deleted Secrets Manager secret stays recoverable (7-30, SEC-3). Default: 30. */
    recoveryWindowDays?: number;
    /** Pulumi `protect` on the Secrets Manager secrets (PROT-1). Default: false. */
    protect?: boolean;
    /** Tags on the AWS resources. Default: none. */
    tags?: Record<string, string>;
}

/** A key with the one it replaced, for decrypting data written before the last rotation. */
export type KeyPair = { current: pulumi.Output<string>; previous: pulumi.Output<string> };

export class AppSecrets extends pulumi.ComponentResource {
    /** Database password (undefined for sqlite). Secret. */
    public readonly dbPassword?: pulumi.Output<string>;
    /** RDS master password (engine rds only). Secret. */
    public readonly dbAdminPassword?: pulumi.Output<string>;
    /** App secret key. Secret. */
    public readonly appSecretKey: pulumi.Output<string>;
    /** Encryption key and its predecessor. Secret. */
    public readonly encryptionKey: KeyPair;
    /** Current rotation generation. */
    public readonly generation: number;
    /** When the current generation ends (ISO 8601). */
    public readonly nextRotation: string;
    /** Secrets Manager ARN per secret id (store aws-secrets-manager). */
    public readonly secretArns: pulumi.Output<Record<string, string>>;

    constructor(name: string, args: AppSecretsArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webapp:security:AppSecrets", name, args, opts);
        const rotationDays = args.rotationDays ?? 90;
        const now = args.now ?? new Date();
        this.generation = args.generation ?? rotationGeneration(now, rotationDays);
        this.nextRotation = generationEnd(this.generation, rotationDays).toISOString();

        // `result` is secret in the provider schema; marking it here as well keeps the contract independent of
        // how the provider is run (SEC-5).
        const password = (resourceName: string, spec: SecretSpec, keeper: number) =>
            pulumi.secret(new random.RandomPassword(resourceName, passwordArgs(spec, { generation: String(keeper) }), { parent: this }).result);

        const generated: { spec: SecretSpec; value: pulumi.Output<string> }[] = [];
        let encryption: KeyPair | undefined;
        for (const spec of secretSpecsFor(args.databaseEngine ?? "self-hosted")) {
            if (spec.dualSlot) {
                const slots = dualSlotKeepers(this.generation);
                const a = password(`${name}-${spec.id}-a`, spec, slots.a);
                const b = password(`${name}-${spec.id}-b`, spec, slots.b);
                encryption = slots.current === "a" ? { current: a, previous: b } : { current: b, previous: a };
                generated.push({ spec, value: pulumi.secret(pulumi.jsonStringify(encryption)) });
            } else {
                generated.push({ spec, value: password(`${name}-${spec.id}`, spec, this.generation) });
            }
        }
        if (!encryption) throw new Error("SECRET_SPECS has no dual-slot encryption key");
        const valueOf = (id: SecretSpec["id"]) => generated.find((g) => g.spec.id === id)?.value;
        this.dbPassword = valueOf("db-password");
        this.dbAdminPassword = valueOf("db-admin-password");
        this.appSecretKey = valueOf("app-secret-key")!;
        this.encryptionKey = encryption;

        if ((args.store ?? "pulumi") === "aws-secrets-manager") {
            if (!args.secretNamePrefix || !args.reader || !args.region) {
                throw new Error("AppSecrets: store aws-secrets-manager needs secretNamePrefix, region and reader (the app identity)");
            }
            const secrets = generated.map(({ spec, value }) => {
                const id = spec.id;
                const secret = new aws.secretsmanager.Secret(
                    `${name}-${id}-secret`,
                    {
                        name: `${args.secretNamePrefix}/${id}`,
                        description: spec.description,
                        recoveryWindowInDays: args.recoveryWindowDays ?? 30,
                        tags: { ...(args.tags ?? {}), rotationDays: String(rotationDays) },
                    },
                    { parent: this, protect: args.protect ?? false },
                );
                new aws.secretsmanager.SecretVersion(`${name}-${id}-version`, { secretId: secret.id, secretString: value }, { parent: this });
                return [id, secret.arn] as const;
            });
            this.secretArns = pulumi.output(Object.fromEntries(secrets));
            const policy = new aws.iam.Policy(
                `${name}-read-policy`,
                {
                    name: `${args.secretNamePrefix.replace(/\//g, "-")}-read-secrets`,
                    description: "Read the app's own secrets, nothing else",
                    // Named by ARN pattern (account from the caller, known at preview), not by the secrets' ARNs, which
                    // exist only once the secrets do: the pack judges the policy before the first deploy.
                    policy: aws.getCallerIdentityOutput({}, { parent: this }).accountId.apply((account) =>
                        JSON.stringify({
                            Version: "2012-10-17",
                            Statement: [
                                {
                                    Effect: "Allow",
                                    Action: ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                                    Resource: generated.map(({ spec }) => secretArnPattern(args.region!, account, `${args.secretNamePrefix}/${spec.id}`)),
                                },
                            ],
                        }),
                    ),
                    tags: args.tags,
                },
                { parent: this },
            );
            attachPolicy(`${name}-read-policy-attachment`, args.reader, policy.arn, this);
        } else {
            this.secretArns = pulumi.output<Record<string, string>>({});
        }
        this.registerOutputs({ generation: this.generation, nextRotation: this.nextRotation, secretArns: this.secretArns });
    }
}
