// Command crdname declares metadata.name in the schema of the replication CRDs, which
// controller-gen always leaves as a bare object: the CEL rule on the name (a replication's name is
// the value of its label) can then report the field path metadata.name, which kubectl prints.
// `make manifests` runs it after controller-gen.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// bare is how controller-gen writes the root metadata of a CRD's schema.
const bare = "          metadata:\n            type: object\n"

const declared = "          metadata:\n            properties:\n              name:\n                type: string\n            type: object\n"

func main() {
	for _, f := range []string{"drsyncer.io_clusterreplications.yaml", "drsyncer.io_replications.yaml"} {
		if err := declare(filepath.Join("config", "crd", "bases", f)); err != nil {
			fmt.Fprintln(os.Stderr, "crdname:", err)
			os.Exit(1)
		}
	}
}

func declare(path string) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s := string(raw)
	if strings.Contains(s, declared) {
		return nil
	}
	if strings.Count(s, bare) != 1 {
		return fmt.Errorf("%s: the root metadata schema is not where controller-gen writes it; update hack/crdname", path)
	}
	return os.WriteFile(path, []byte(strings.Replace(s, bare, declared, 1)), 0o644)
}
