// toolgate-sdkgen writes the Python or Go SDK of a Pulumi package schema with the code generators of the Pulumi
// CLI's own module (github.com/pulumi/pulumi/pkg/v3/codegen), the same code the language hosts run for
// `pulumi package gen-sdk`. The CLI delegates gen-sdk to pulumi-language-<language>, and those hosts are modules
// the Go module proxy does not serve (see docs/development.md), so scripts/gen-sdks.sh builds this instead.
//
//	toolgate-sdkgen -language python -out sdks/python provider/native/schema.json
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/blang/semver"
	gogen "github.com/pulumi/pulumi/pkg/v3/codegen/go"
	"github.com/pulumi/pulumi/pkg/v3/codegen/python"
	"github.com/pulumi/pulumi/pkg/v3/codegen/schema"
)

// noPackages is the loader for a schema that refers to no other package (only pulumi.json#/Any).
type noPackages struct{}

func (noPackages) LoadPackage(pkg string, _ *semver.Version) (*schema.Package, error) {
	return nil, fmt.Errorf("the schema refers to package %q; toolgate-sdkgen loads no other package", pkg)
}

func (noPackages) LoadPackageV2(_ context.Context, d *schema.PackageDescriptor) (*schema.Package, error) {
	return noPackages{}.LoadPackage(d.Name, nil)
}

func (noPackages) LoadPackageReference(pkg string, _ *semver.Version) (schema.PackageReference, error) {
	return nil, fmt.Errorf("the schema refers to package %q; toolgate-sdkgen loads no other package", pkg)
}

func (noPackages) LoadPackageReferenceV2(_ context.Context, d *schema.PackageDescriptor) (schema.PackageReference, error) {
	return noPackages{}.LoadPackageReference(d.Name, nil)
}

func main() {
	language := flag.String("language", "", "python or go")
	out := flag.String("out", "", "directory to write the SDK into (emptied first)")
	flag.Parse()
	if flag.NArg() != 1 || *out == "" || (*language != "python" && *language != "go") {
		fmt.Fprintln(os.Stderr, "usage: toolgate-sdkgen -language python|go -out <dir> <schema.json>")
		os.Exit(2)
	}
	if err := generate(*language, *out, flag.Arg(0)); err != nil {
		fmt.Fprintf(os.Stderr, "toolgate-sdkgen: %v\n", err)
		os.Exit(1)
	}
}

func generate(language, out, schemaPath string) error {
	text, err := os.ReadFile(schemaPath)
	if err != nil {
		return err
	}
	var spec schema.PackageSpec
	if err := json.Unmarshal(text, &spec); err != nil {
		return fmt.Errorf("%s: %w", schemaPath, err)
	}
	pkg, diags, err := schema.BindSpec(spec, noPackages{}, schema.ValidationOptions{})
	if err != nil {
		return err
	}
	// Warnings fail too: a schema the generators only warn about is one we should fix.
	if len(diags) > 0 {
		return fmt.Errorf("%s: %v", schemaPath, diags)
	}
	var files map[string][]byte
	switch language {
	case "python":
		files, err = python.GeneratePackage("pulumi-language-python", pkg, nil, noPackages{})
	case "go":
		files, err = gogen.GeneratePackage("pulumi-language-go", pkg, nil)
	}
	if err != nil {
		return err
	}
	if err := os.RemoveAll(out); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		path := filepath.Join(out, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, files[name], 0o644); err != nil {
			return err
		}
	}
	fmt.Fprintf(os.Stderr, "toolgate-sdkgen: wrote %d files into %s\n", len(names), out)
	return nil
}
