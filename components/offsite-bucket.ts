/**
 * OffsiteBucket: the S3 bucket backups are copied to (BK-5, BK-6): all public access blocked, encrypted,
 * versioned, TLS-only, expiring objects after the retention of their tier, and a writer identity that can only
 * put objects under the backup prefix (SEC-6). Its access key reaches the host as the `backup-aws` credential.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";

export interface OffsiteBucketArgs {
    /** Bucket name (globally unique). Required. */
    bucketName: string;
    /** Key prefix the backups go under, without slashes at the ends. Default `backups`. */
    prefix?: string;
    /** Days daily / weekly / uploads copies are kept (BK-2). Required. */
    retention: { dailyDays: number; weeklyDays: number; uploadsDays: number };
    /** Days a replaced or deleted object version stays recoverable. Default 30. */
    noncurrentDays?: number;
    /** Pulumi `protect` on the bucket (PROT-1). Default false. */
    protect?: boolean;
    /** Tags. Default none. */
    tags?: Record<string, string>;
}

/** Lifecycle rules: each tier expires after its retention, old versions after `noncurrentDays`. Pure. */
export function lifecycleRules(prefix: string, retention: OffsiteBucketArgs["retention"], noncurrentDays: number) {
    return [
        ["daily", retention.dailyDays],
        ["weekly", retention.weeklyDays],
        ["uploads", retention.uploadsDays],
    ].map(([tier, days]) => ({
        id: `expire-${tier}`,
        status: "Enabled",
        filter: { prefix: `${prefix}/${tier}/` },
        expiration: { days: days as number },
        noncurrentVersionExpiration: { noncurrentDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 7 },
    }));
}

/** The writer's policy: PutObject under the prefix, nothing else (no read, list or delete). Pure. */
export function writerPolicy(bucketArn: string, prefix: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "PutBackupsOnly", Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${bucketArn}/${prefix}/*`] }],
    });
}

/** The bucket policy: refuse every request that does not use TLS. Pure. */
export function tlsOnlyPolicy(bucketArn: string): string {
    return JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Sid: "DenyInsecureTransport", Effect: "Deny", Principal: "*", Action: "s3:*", Resource: [bucketArn, `${bucketArn}/*`], Condition: { Bool: { "aws:SecureTransport": "false" } } }],
    });
}

export class OffsiteBucket extends pulumi.ComponentResource {
    public readonly bucketName: pulumi.Output<string>;
    public readonly prefix: string;
    public readonly region: pulumi.Output<string>;
    /** `~/.aws/credentials` content for the writer, a Pulumi secret. */
    public readonly writerCredentials: pulumi.Output<string>;

    constructor(name: string, args: OffsiteBucketArgs, opts?: pulumi.ComponentResourceOptions) {
        super("webapp:backup:OffsiteBucket", name, args, opts);
        const prefix = (args.prefix ?? "backups").replace(/^\/+|\/+$/g, "");
        const protect = args.protect ?? false;
        const bucket = new aws.s3.Bucket(`${name}-bucket`, { bucket: args.bucketName, forceDestroy: false, tags: args.tags }, { parent: this, protect });
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access-block`,
            { bucket: bucket.id, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            { parent: this },
        );
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: bucket.id, rule: { objectOwnership: "BucketOwnerEnforced" } }, { parent: this });
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            { bucket: bucket.id, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
            { parent: this },
        );
        new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: bucket.id, versioningConfiguration: { status: "Enabled" } }, { parent: this });
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: bucket.id, rules: lifecycleRules(prefix, args.retention, args.noncurrentDays ?? 30) }, { parent: this });
        new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket: bucket.id, policy: bucket.arn.apply(tlsOnlyPolicy) }, { parent: this, dependsOn: [publicAccess] });

        const writer = new aws.iam.User(`${name}-writer`, { name: `${args.bucketName}-writer`, path: "/service/", tags: args.tags }, { parent: this });
        new aws.iam.UserPolicy(`${name}-writer-policy`, { user: writer.name, policy: bucket.arn.apply((arn) => writerPolicy(arn, prefix)) }, { parent: this });
        const key = new aws.iam.AccessKey(`${name}-writer-key`, { user: writer.name }, { parent: this, additionalSecretOutputs: ["secret"] });

        this.bucketName = bucket.bucket;
        this.prefix = prefix;
        this.region = bucket.region;
        this.writerCredentials = pulumi.secret(pulumi.interpolate`[default]\naws_access_key_id = ${key.id}\naws_secret_access_key = ${key.secret}\n`);
        this.registerOutputs({ bucketName: this.bucketName, prefix: this.prefix });
    }
}
