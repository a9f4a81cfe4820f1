package gateway_test

import (
	"context"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// TestBucketLifecycle: Put/Get/DeleteBucketLifecycleConfiguration with the
// SDK, S3's refusals, and x-amz-expiration on the objects a rule expires.
func TestBucketLifecycle(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.mkBucket("bkt")
	_, err := e.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("bkt")})
	wantAPIError(t, "GetBucketLifecycleConfiguration unset", err, "NoSuchLifecycleConfiguration")

	cfg := &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{
		{ID: aws.String("logs"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{Prefix: aws.String("logs/")},
			Expiration: &types.LifecycleExpiration{Days: aws.Int32(7)}},
		{ID: aws.String("uploads"), Status: types.ExpirationStatusEnabled, Filter: &types.LifecycleRuleFilter{},
			AbortIncompleteMultipartUpload: &types.AbortIncompleteMultipartUpload{DaysAfterInitiation: aws.Int32(2)},
			NoncurrentVersionExpiration:    &types.NoncurrentVersionExpiration{NoncurrentDays: aws.Int32(30), NewerNoncurrentVersions: aws.Int32(5)}},
	}}
	if _, err := e.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("bkt"), LifecycleConfiguration: cfg}); err != nil {
		t.Fatal(err)
	}
	got, err := e.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("bkt")})
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Rules) != 2 || aws.ToString(got.Rules[0].ID) != "logs" || aws.ToInt32(got.Rules[0].Expiration.Days) != 7 ||
		aws.ToInt32(got.Rules[1].NoncurrentVersionExpiration.NewerNoncurrentVersions) != 5 || aws.ToInt32(got.Rules[1].AbortIncompleteMultipartUpload.DaysAfterInitiation) != 2 {
		t.Errorf("rules read back: %+v", got.Rules)
	}

	put, err := e.s3.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String("bkt"), Key: aws.String("logs/a"), Body: strings.NewReader("x")})
	if err != nil {
		t.Fatal(err)
	}
	if exp := aws.ToString(put.Expiration); !strings.Contains(exp, `rule-id="logs"`) || !strings.Contains(exp, "expiry-date=") {
		t.Errorf("PutObject x-amz-expiration = %q", exp)
	}
	head, err := e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("logs/a")})
	if err != nil {
		t.Fatal(err)
	}
	if exp := aws.ToString(head.Expiration); !strings.Contains(exp, `rule-id="logs"`) {
		t.Errorf("HeadObject x-amz-expiration = %q", exp)
	}
	e.put("bkt", "other", []byte("y"))
	head, _ = e.s3.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String("bkt"), Key: aws.String("other")})
	if head.Expiration != nil {
		t.Errorf("an object no rule expires has x-amz-expiration %q", *head.Expiration)
	}

	transition := &types.BucketLifecycleConfiguration{Rules: []types.LifecycleRule{{ID: aws.String("t"), Status: types.ExpirationStatusEnabled,
		Filter: &types.LifecycleRuleFilter{}, Transitions: []types.Transition{{Days: aws.Int32(30), StorageClass: types.TransitionStorageClassGlacier}}}}}
	_, err = e.s3.PutBucketLifecycleConfiguration(ctx, &s3.PutBucketLifecycleConfigurationInput{Bucket: aws.String("bkt"), LifecycleConfiguration: transition})
	wantAPIError(t, "a transition", err, "NotImplemented")
	resp, body := e.do("PUT", "/bkt?lifecycle", []byte(`<LifecycleConfiguration><Rule><Filter/><Status>Enabled</Status><Expiration><Days>1</Days></Expiration></Rule></LifecycleConfiguration>`), nil)
	wantError(t, resp, body, 400, "InvalidRequest")
	if got, _ := e.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("bkt")}); got == nil || len(got.Rules) != 2 {
		t.Error("a refused PutBucketLifecycleConfiguration changed the rules")
	}

	if _, err := e.s3.DeleteBucketLifecycle(ctx, &s3.DeleteBucketLifecycleInput{Bucket: aws.String("bkt")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.s3.GetBucketLifecycleConfiguration(ctx, &s3.GetBucketLifecycleConfigurationInput{Bucket: aws.String("bkt")})
	wantAPIError(t, "GetBucketLifecycleConfiguration after delete", err, "NoSuchLifecycleConfiguration")
}
