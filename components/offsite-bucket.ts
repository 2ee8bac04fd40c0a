/**
 * OffsiteBucket: the S3 bucket backups are copied to (BK-5, BK-6): all public access blocked, encrypted,
 * versioned, TLS-only, expiring objects after the retention of their tier, and a writer identity that can only
 * put objects under the backup prefix (SEC-6). Its access key reaches the host as the `backup-aws` credential.
 */
import * as aws from "@pulumi/aws";
import * as pulumi from "@pulumi/pulumi";
import { partitionOf } from "../lib/aws-arn";

export interface OffsiteBucketArgs {
    /** Bucket name (globally unique). Required. */
    bucketName: string;
    /** AWS region of the provider the bucket is created with. Required. */
    region: string;
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

/**
 * A bucket's ARN from its name and region (the partition follows the region). Known before the bucket exists, so
 * the policies that name it, and the checklist that judges them, are known at the first preview. Pure.
 */
export function bucketArn(bucketName: string, region: string): string {
    return `arn:${partitionOf(region)}:s3:::${bucketName}`;
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
        // The configuration resources name the bucket by its (known) name rather than its id, which a first preview
        // does not know yet; dependsOn keeps the order.
        const of = { parent: this, dependsOn: [bucket] };
        const arn = bucketArn(args.bucketName, args.region);
        const publicAccess = new aws.s3.BucketPublicAccessBlock(
            `${name}-public-access-block`,
            { bucket: args.bucketName, blockPublicAcls: true, blockPublicPolicy: true, ignorePublicAcls: true, restrictPublicBuckets: true },
            of,
        );
        new aws.s3.BucketOwnershipControls(`${name}-ownership`, { bucket: args.bucketName, rule: { objectOwnership: "BucketOwnerEnforced" } }, of);
        new aws.s3.BucketServerSideEncryptionConfiguration(
            `${name}-encryption`,
            { bucket: args.bucketName, rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" }, bucketKeyEnabled: true }] },
            of,
        );
        new aws.s3.BucketVersioning(`${name}-versioning`, { bucket: args.bucketName, versioningConfiguration: { status: "Enabled" } }, of);
        new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, { bucket: args.bucketName, rules: lifecycleRules(prefix, args.retention, args.noncurrentDays ?? 30) }, of);
        new aws.s3.BucketPolicy(`${name}-tls-only`, { bucket: args.bucketName, policy: tlsOnlyPolicy(arn) }, { parent: this, dependsOn: [bucket, publicAccess] });

        const writerName = `${args.bucketName}-writer`;
        const writer = new aws.iam.User(`${name}-writer`, { name: writerName, path: "/service/", tags: args.tags }, { parent: this });
        new aws.iam.UserPolicy(`${name}-writer-policy`, { user: writerName, policy: writerPolicy(arn, prefix) }, { parent: this, dependsOn: [writer] });
        const key = new aws.iam.AccessKey(`${name}-writer-key`, { user: writerName }, { parent: this, dependsOn: [writer], additionalSecretOutputs: ["secret"] });

        this.bucketName = pulumi.output(args.bucketName);
        this.prefix = prefix;
        this.region = pulumi.output(args.region);
        this.writerCredentials = pulumi.secret(pulumi.interpolate`[default]\naws_access_key_id = ${key.id}\naws_secret_access_key = ${key.secret}\n`);
        this.registerOutputs({ bucketName: this.bucketName, prefix: this.prefix });
    }
}
