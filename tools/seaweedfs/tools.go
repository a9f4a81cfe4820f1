//go:build tools

// Package tools pins the SeaweedFS server (`weed`) that the upstream-store
// tests run against as a second real S3 engine. It lives in its own module so
// that SeaweedFS and its large dependency graph never enter the main module's
// go.mod, go.sum or any binary built from it. internal/seaweedtest builds it
// with
//
//	go build -o <cache>/weed github.com/seaweedfs/seaweedfs/weed
//
// from this directory. SeaweedFS's own go.mod has replace directives, which
// `go install …@version` refuses; the ones the build needs are copied into
// this module's go.mod.
package tools

import _ "github.com/seaweedfs/seaweedfs/weed"
