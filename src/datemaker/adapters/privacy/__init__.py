"""Personal data sealed per person: the master key, the keyring of person
keys and the mapper that seals and opens the personal fields of recorded
events (README, Privacy)."""
