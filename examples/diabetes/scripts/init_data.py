"""Write the initial state: days 1..6 into data/raw."""
from days import parse_args, write_day, chunks

INITIAL_DAYS = 6


def main():
    args = parse_args(__doc__)
    parts = chunks()
    for day in range(1, INITIAL_DAYS + 1):
        path = write_day(args.data_dir, day, parts)
        print(f"wrote {path} ({len(parts[day - 1])} rows)")


if __name__ == "__main__":
    main()
