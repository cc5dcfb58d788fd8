#!/usr/bin/perl
# Parses each line of stdin, a plugin's performance data, with Debian's
# Monitoring::Plugin::Performance and prints one JSON array per line: every
# item with its label, value, uom, min, max and its warning and critical
# ranges as Monitoring::Plugin::Range reads them. Dies on a range that does
# not parse.
use strict;
use warnings;
use JSON::PP;
use Monitoring::Plugin::Performance use_die => 1;
use Monitoring::Plugin::Range;

my $json = JSON::PP->new->canonical;
while (my $line = <STDIN>) {
	chomp $line;
	my @out;
	for my $p (Monitoring::Plugin::Performance->parse_perfstring($line)) {
		my %item = (label => $p->label, value => "" . $p->value, uom => $p->uom // "");
		for my $k (qw(warning critical)) {
			my $s = $p->$k;
			next unless defined $s && $s ne "";
			my $r = Monitoring::Plugin::Range->parse_range_string($s)
				or die "range '$s' of '" . $p->label . "' does not parse\n";
			$item{$k} = {
				start => "" . $r->start, end => "" . $r->end,
				start_infinity => 0 + $r->start_infinity, end_infinity => 0 + $r->end_infinity,
				inside => 0 + $r->alert_on,
			};
		}
		for my $k (qw(min max)) {
			$item{$k} = "" . $p->$k if defined $p->$k && $p->$k ne "";
		}
		push @out, \%item;
	}
	print $json->encode(\@out), "\n";
}
