package io.wirewatch.esplugin;

import org.apache.lucene.analysis.TokenStream;
import org.apache.lucene.analysis.StopFilter;
import org.apache.lucene.analysis.fr.FrenchAnalyzer;
import org.elasticsearch.plugin.NamedComponent;
import org.elasticsearch.plugin.analysis.TokenFilterFactory;

/** Removes Lucene's French stop words (FrenchAnalyzer's default set); expects lowercased tokens. */
@NamedComponent("ww_french_stop")
public class FrenchStopFilterFactory implements TokenFilterFactory {
    @Override
    public TokenStream create(TokenStream tokenStream) {
        return new StopFilter(tokenStream, FrenchAnalyzer.getDefaultStopSet());
    }
}
