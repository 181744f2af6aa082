/* placeholder */ int pgq_example_placeholder(void); int pgq_example_placeholder(void) { return 0; }
