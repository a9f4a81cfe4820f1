// The AWS SDK for JavaScript v3 end to end against one endpoint, driven by
// tests/clients (clients_test.go), one step a run:
//
//	node smoke.mjs upload <endpoint> <bucket> <source dir>
//	  creates the bucket and uploads every file of the directory: files
//	  over 5 MiB with lib-storage's Upload (multipart at its defaults: 5 MiB
//	  parts, 4 at a time), the others with PutObject
//	node smoke.mjs download <endpoint> <bucket> <output dir>
//	  lists the bucket 2 keys a page and downloads every object
//	node smoke.mjs purge <endpoint> <bucket>
//	  deletes every object (DeleteObjects) and the bucket
//
// The credentials come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, a
// private CA from NODE_EXTRA_CA_CERTS. Each step prints one JSON line.
import { createReadStream, promises as fs } from "node:fs";
import path from "node:path";
import {
  S3Client, CreateBucketCommand, PutObjectCommand, GetObjectCommand,
  DeleteObjectsCommand, DeleteBucketCommand, HeadBucketCommand, paginateListObjectsV2,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";

const [step, endpoint, bucket, dir] = process.argv.slice(2);
const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, maxAttempts: 2 });

async function files(dir, prefix = "") {
  const found = [];
  for (const e of await fs.readdir(dir, { withFileTypes: true })) {
    const rel = prefix + e.name;
    if (e.isDirectory()) found.push(...await files(path.join(dir, e.name), rel + "/"));
    else found.push(rel);
  }
  return found.sort();
}

async function listAll() {
  const keys = [];
  let pages = 0;
  for await (const page of paginateListObjectsV2({ client: s3, pageSize: 2 }, { Bucket: bucket })) {
    pages++;
    for (const o of page.Contents ?? []) keys.push(o.Key);
  }
  return { keys, pages };
}

async function upload() {
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  let multipart = 0;
  for (const rel of await files(dir)) {
    const file = path.join(dir, rel);
    const { size } = await fs.stat(file);
    if (size > 5 * 1024 * 1024) {
      multipart++;
      await new Upload({ client: s3, params: { Bucket: bucket, Key: rel, Body: createReadStream(file) } }).done();
    } else {
      await s3.send(new PutObjectCommand({ Bucket: bucket, Key: rel, Body: await fs.readFile(file) }));
    }
  }
  return { multipart };
}

async function download() {
  const listed = await listAll();
  for (const key of listed.keys) {
    const res = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const dst = path.join(dir, key);
    await fs.mkdir(path.dirname(dst), { recursive: true });
    await fs.writeFile(dst, await res.Body.transformToByteArray());
  }
  return listed;
}

async function purge() {
  const { keys } = await listAll();
  const res = await s3.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys.map((Key) => ({ Key })) } }));
  await s3.send(new DeleteBucketCommand({ Bucket: bucket }));
  let bucketGone = false;
  try {
    await s3.send(new HeadBucketCommand({ Bucket: bucket }));
  } catch (e) {
    bucketGone = e.$metadata?.httpStatusCode === 404;
  }
  return { deleted: (res.Deleted ?? []).length, errors: res.Errors ?? [], bucketGone };
}

const steps = { upload, download, purge };
if (!steps[step]) throw new Error(`unknown step ${step}`);
console.log(JSON.stringify(await steps[step]()));
