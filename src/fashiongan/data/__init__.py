"""Datasets: Fashion-MNIST (and later image folders, styles.csv, derived colour and fabric domains)."""
