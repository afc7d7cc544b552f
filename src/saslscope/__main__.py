from saslscope.cli import main

main()
