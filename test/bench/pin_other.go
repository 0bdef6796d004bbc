//go:build !linux

package main

type cpuSet = *struct{}

// cpuSplit pins nothing where sched_setaffinity does not exist.
func cpuSplit() (rest, dr cpuSet, drCPUs, restCPUs []int) { return nil, nil, nil, nil }

func pinProcess(int, cpuSet) error { return nil }

func processesWithArg(...string) []int { return nil }
