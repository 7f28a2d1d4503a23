// Command protoc is the part of protoc that k8s.io/code-generator's go-to-protobuf calls, in Go, so that
// generating the group's protobuf needs nothing but the Go toolchain:
//
//	protoc -I DIR [-I DIR ...] --gogo_out=OUT FILE.proto ...
//
// It compiles each FILE (found under one of the DIRs, as protoc does; the well-known google/protobuf files
// are built in) with github.com/bufbuild/protocompile, hands the descriptors to protoc-gen-gogo (on PATH)
// as protoc's plugin protocol says, and writes the files it answers under OUT.
package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/bufbuild/protocompile"
	"github.com/bufbuild/protocompile/linker"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/pluginpb"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "protoc:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	var includes, files []string
	out, param := "", ""
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-I" || a == "--proto_path":
			if i+1 == len(args) {
				return fmt.Errorf("%s needs a directory", a)
			}
			i++
			includes = append(includes, args[i])
		case strings.HasPrefix(a, "-I"):
			includes = append(includes, strings.TrimPrefix(a, "-I"))
		case strings.HasPrefix(a, "--proto_path="):
			includes = append(includes, strings.TrimPrefix(a, "--proto_path="))
		case strings.HasPrefix(a, "--gogo_out="):
			out = strings.TrimPrefix(a, "--gogo_out=")
			if k := strings.LastIndex(out, ":"); k >= 0 {
				param, out = out[:k], out[k+1:]
			}
		case strings.HasPrefix(a, "-"):
			return fmt.Errorf("flag %s is not supported", a)
		default:
			files = append(files, a)
		}
	}
	if out == "" || len(files) == 0 {
		return fmt.Errorf("usage: protoc -I DIR ... --gogo_out=OUT FILE.proto ...")
	}
	// protoc names a file on the command line by its path under the first include directory holding it.
	var names []string
	for _, f := range files {
		name, err := virtualName(f, includes)
		if err != nil {
			return err
		}
		names = append(names, name)
	}

	compiler := protocompile.Compiler{
		Resolver:       protocompile.WithStandardImports(&protocompile.SourceResolver{ImportPaths: includes}),
		SourceInfoMode: protocompile.SourceInfoStandard,
	}
	compiled, err := compiler.Compile(context.Background(), names...)
	if err != nil {
		return err
	}
	req := &pluginpb.CodeGeneratorRequest{FileToGenerate: names, Parameter: proto.String(param)}
	seen := map[string]bool{}
	var add func(f protoreflect.FileDescriptor)
	add = func(f protoreflect.FileDescriptor) { // dependencies first, as protoc sends them
		if seen[f.Path()] {
			return
		}
		seen[f.Path()] = true
		imports := f.Imports()
		for i := 0; i < imports.Len(); i++ {
			add(imports.Get(i).FileDescriptor)
		}
		req.ProtoFile = append(req.ProtoFile, toProto(f))
	}
	for _, f := range compiled {
		add(f)
	}
	in, err := proto.Marshal(req)
	if err != nil {
		return err
	}
	var stdout, stderr bytes.Buffer
	plugin := exec.Command("protoc-gen-gogo")
	plugin.Stdin, plugin.Stdout, plugin.Stderr = bytes.NewReader(in), &stdout, &stderr
	if err := plugin.Run(); err != nil {
		return fmt.Errorf("protoc-gen-gogo: %v: %s", err, stderr.String())
	}
	var resp pluginpb.CodeGeneratorResponse
	if err := proto.Unmarshal(stdout.Bytes(), &resp); err != nil {
		return fmt.Errorf("protoc-gen-gogo's answer: %v", err)
	}
	if resp.Error != nil {
		return fmt.Errorf("protoc-gen-gogo: %s", resp.GetError())
	}
	for _, f := range resp.File {
		if f.GetInsertionPoint() != "" {
			return fmt.Errorf("protoc-gen-gogo asked for an insertion point in %s, which is not supported", f.GetName())
		}
		path := filepath.Join(out, filepath.FromSlash(f.GetName()))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(path, []byte(f.GetContent()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// toProto is a compiled file as a FileDescriptorProto (protocompile's results carry theirs).
func toProto(f protoreflect.FileDescriptor) *descriptorpb.FileDescriptorProto {
	if r, ok := f.(linker.Result); ok {
		return r.FileDescriptorProto()
	}
	return protodesc.ToFileDescriptorProto(f)
}

// virtualName is file's path under the first include directory that holds it, with forward slashes.
func virtualName(file string, includes []string) (string, error) {
	abs, err := filepath.Abs(file)
	if err != nil {
		return "", err
	}
	for _, dir := range includes {
		d, err := filepath.Abs(dir)
		if err != nil {
			return "", err
		}
		if rel, err := filepath.Rel(d, abs); err == nil && !strings.HasPrefix(rel, "..") {
			return filepath.ToSlash(rel), nil
		}
	}
	return "", fmt.Errorf("%s is in none of the include directories %v", file, includes)
}
