from ganaug.cli import main

main()
