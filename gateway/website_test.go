package gateway_test

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestBucketWebsiteConfig: Put/Get/DeleteBucketWebsite through the SDK.
func TestBucketWebsiteConfig(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("site")
	b := aws.String("site")
	_, err := e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	wantAPIError(t, "GetBucketWebsite unset", err, "NoSuchWebsiteConfiguration")
	_, err = e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: aws.String("absent")})
	wantAPIError(t, "GetBucketWebsite absent bucket", err, "NoSuchBucket")

	cfg := &types.WebsiteConfiguration{
		IndexDocument: &types.IndexDocument{Suffix: aws.String("index.html")},
		ErrorDocument: &types.ErrorDocument{Key: aws.String("404.html")},
		RoutingRules: []types.RoutingRule{{
			Condition: &types.Condition{KeyPrefixEquals: aws.String("docs/")},
			Redirect:  &types.Redirect{ReplaceKeyPrefixWith: aws.String("documents/"), HttpRedirectCode: aws.String("302")},
		}},
	}
	if _, err := e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	if err != nil {
		t.Fatal(err)
	}
	if aws.ToString(got.IndexDocument.Suffix) != "index.html" || aws.ToString(got.ErrorDocument.Key) != "404.html" ||
		len(got.RoutingRules) != 1 || aws.ToString(got.RoutingRules[0].Condition.KeyPrefixEquals) != "docs/" ||
		aws.ToString(got.RoutingRules[0].Redirect.ReplaceKeyPrefixWith) != "documents/" ||
		aws.ToString(got.RoutingRules[0].Redirect.HttpRedirectCode) != "302" {
		t.Errorf("GetBucketWebsite = %+v", got)
	}

	_, err = e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: &types.WebsiteConfiguration{
		IndexDocument: &types.IndexDocument{Suffix: aws.String("a/index.html")}}})
	wantAPIError(t, "PutBucketWebsite bad suffix", err, "InvalidArgument")
	_, err = e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: aws.String("absent"), WebsiteConfiguration: cfg})
	wantAPIError(t, "PutBucketWebsite absent bucket", err, "NoSuchBucket")

	// Replaced by a redirect of everything.
	if _, err := e.s3.PutBucketWebsite(ctx, &s3.PutBucketWebsiteInput{Bucket: b, WebsiteConfiguration: &types.WebsiteConfiguration{
		RedirectAllRequestsTo: &types.RedirectAllRequestsTo{HostName: aws.String("example.com"), Protocol: types.ProtocolHttps}}}); err != nil {
		t.Fatal(err)
	}
	got, err = e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	if err != nil || got.RedirectAllRequestsTo == nil || aws.ToString(got.RedirectAllRequestsTo.HostName) != "example.com" ||
		got.RedirectAllRequestsTo.Protocol != types.ProtocolHttps || got.IndexDocument != nil {
		t.Errorf("GetBucketWebsite after replace = %+v, %v", got, err)
	}

	if _, err := e.s3.DeleteBucketWebsite(ctx, &s3.DeleteBucketWebsiteInput{Bucket: b}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetBucketWebsite(ctx, &s3.GetBucketWebsiteInput{Bucket: b})
	wantAPIError(t, "GetBucketWebsite deleted", err, "NoSuchWebsiteConfiguration")
	if _, err := e.s3.DeleteBucketWebsite(ctx, &s3.DeleteBucketWebsiteInput{Bucket: b}); err != nil {
		t.Errorf("DeleteBucketWebsite again: %v", err)
	}
}
