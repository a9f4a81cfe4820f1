//go:build tools

// Package tools pins the MinIO server that the upstream-store tests run
// against. It lives in its own module so that MinIO (AGPL) and its large
// dependency graph never enter the main module's go.mod, go.sum or any
// binary built from it. internal/miniotest builds it with
//
//	go build -o <cache>/minio github.com/minio/minio
//
// from this directory.
package tools

import _ "github.com/minio/minio"
